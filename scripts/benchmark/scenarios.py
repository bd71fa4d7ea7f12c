"""Unary scenarios: added latency by request size, throughput, variants, Connection: close, memory soak."""

from __future__ import annotations

import re

from . import aclient, bodies, procs, streams
from .runner import BRIDGE, DIRECT, Run
from .stats import growth_per, percentile


def warm_up(run: Run) -> None:
    """A few requests to every target, so first-use costs (imports, tokens, connections) are not timed."""
    body = bodies.build("small")
    for name in run.compared:
        summary = run.load.measure(run.target(name, body), 2, min(1.0, run.plan.seconds))
        if summary.count == 0 or summary.errors >= summary.count:
            raise RuntimeError(f"{name} answers no requests; see the logs in {run.workdir}")


def latency(run: Run) -> None:
    """Concurrency 1, each size: p50/p99 for every target (direct sends the equivalent Vertex body)."""
    run.upstream()
    out = run.results.setdefault("latency", {})
    for size in run.plan.sizes:
        body = bodies.build(size)
        run.log(f"latency, {size} ({body.size:,} B) at concurrency 1")
        targets = [run.target(name, body) for name in run.compared]
        summaries = run.measure_rounds(targets, 1)
        out[size] = {"bytes": body.size, **{name: s.as_dict() for name, s in summaries.items()}}


def throughput(run: Run) -> None:
    out = run.results.setdefault("throughput", {})
    body = bodies.build("small")
    for delay in run.plan.delays_ms:
        run.upstream(delay_ms=delay)
        for concurrency in run.plan.concurrency:
            run.log(f"throughput at concurrency {concurrency}, upstream delay {delay} ms")
            targets = [run.target(name, body) for name in run.compared]
            summaries = run.measure_rounds(targets, concurrency)
            out[f"c{concurrency}_d{delay}"] = {name: s.as_dict() for name, s in summaries.items()}
    run.upstream()


def variants(run: Run) -> None:
    """The proxy in other forms, each measured next to the default lean runner in the same rounds."""
    out = run.results.setdefault("variants", {})
    body = bodies.build("small")
    run.upstream()
    for kind in run.plan.variants:
        service = run.start_variant(kind)
        if service is None:
            continue
        try:
            run.log(f"variant {kind}")
            # 64 connections matter for a second process; for the rest 16 says the same.
            for concurrency in run.plan.concurrency if kind == "workers" else run.plan.concurrency[:1]:
                targets = [run.target(BRIDGE, body), run.target(kind, body, service)]
                summaries = run.measure_rounds(targets, concurrency, processes={kind: service}, rounds=3)
                out.setdefault(kind, {})[f"c{concurrency}"] = {n: s.as_dict() for n, s in summaries.items()}
            sizes = ((("c1", "small"), ("c1 medium", "medium"), ("c1 cursor", "cursor")) if kind.startswith("tree=")
                     else (("c1", "small"),))
            for key, size in sizes:
                sized = bodies.build(size)
                c1 = run.measure_rounds([run.target(BRIDGE, sized), run.target(kind, sized, service)], 1,
                                        processes={kind: service}, rounds=3)
                out[kind][key] = {n: s.as_dict() for n, s in c1.items()}
            together = run.measure_together([run.target(BRIDGE, body), run.target(kind, body, service)], 16,
                                            max(run.plan.seconds, 2), processes={kind: service})
            out[kind]["together"] = {n: s.as_dict() for n, s in together.items()}
            out[kind]["rss_mb"] = service.rss_mb()
        finally:
            service.stop()


def upstream_reuse(run: Run) -> None:
    """New upstream connections per request, from TIME_WAIT/ESTABLISHED sockets to the emulator's port.

    Run first, while the emulator's port has no closed connections in TIME_WAIT yet.
    """
    body = bodies.build("small")
    requests = run.plan.reuse_requests
    run.upstream()
    out = run.results.setdefault("reuse", {})
    for close in (False, True):
        before = procs.tcp_states(run.emulator.port)
        result = run.load.count(run.target(BRIDGE, body), 4, requests) if not close else \
            run.load.measure(run.target(BRIDGE, body), 4, 1.0, close=True)
        after = procs.tcp_states(run.emulator.port)
        opened = (after.get("TIME_WAIT", 0) - before.get("TIME_WAIT", 0)
                  + max(after.get("ESTABLISHED", 0) - before.get("ESTABLISHED", 0), 0) / 2)
        key = "connection_close" if close else "keep_alive"
        out[key] = {"requests": result.count, "upstream_connections": opened,
                    "per_request": opened / result.count if result.count else float("nan")}
    before = procs.tcp_states(run.emulator.port)
    got = aclient.run(streams.sequential(run.target(BRIDGE, bodies.streaming_body()), streams.OPENAI_CONTENT, 20))
    after = procs.tcp_states(run.emulator.port)
    opened = (after.get("TIME_WAIT", 0) - before.get("TIME_WAIT", 0)
              + max(after.get("ESTABLISHED", 0) - before.get("ESTABLISHED", 0), 0) / 2)
    out["streams_keep_alive"] = {"requests": sum(s.ok for s in got), "upstream_connections": opened,
                                 "per_request": opened / max(len(got), 1)}


def connection_close(run: Run) -> None:
    """Clients that send `Connection: close`: a new client connection, hence a new upstream one, per request."""
    body = bodies.build("small")
    run.upstream()
    out = run.results.setdefault("connection_close", {})
    names = [DIRECT, BRIDGE]
    for concurrency in (1, 16):
        run.log(f"Connection: close at concurrency {concurrency}")
        targets = [run.target(n, body) for n in names]
        keep = run.measure_rounds(targets, concurrency, seconds=1, rounds=3)
        close = run.measure_rounds(targets, concurrency, seconds=1, rounds=3, close=True)
        out[f"c{concurrency}"] = {n: {"keep_alive": keep[n].as_dict(), "close": close[n].as_dict()} for n in names}


def soak(run: Run) -> None:
    """RSS of the lean proxy after a warm-up, then after every half of `soak_requests` requests."""
    total = run.plan.soak_requests
    service = run.services[BRIDGE]
    target = run.target(BRIDGE, bodies.build("small"))
    run.upstream()
    run.log(f"memory soak: {total:,} requests")
    run.load.count(target, 16, min(1000, total // 4))
    samples = [(0, service.rss_mb())]
    done = 0
    for _ in range(2):
        result = run.load.count(target, 16, total // 2)
        done += result.count
        samples.append((done, service.rss_mb()))
    run.results["soak"] = {"samples": samples, "growth_per_10k_mb": growth_per(samples[0][1], samples[-1][1], done),
                           "second_half_per_10k_mb": growth_per(samples[1][1], samples[2][1], done - samples[1][0])}


def overhead_from_log(service: procs.Process) -> dict[str, float]:
    """The `overhead_ms=` of the access-log lines, split into unary and streamed requests."""
    unary, streamed = [], []
    for line in service.log_text().splitlines():
        match = re.search(r"overhead_ms=([\d.]+)", line)
        if match and "status=200" in line:
            (streamed if "stream=True" in line else unary).append(float(match.group(1)))
    return {"unary_p50": percentile(unary, 50), "unary_p99": percentile(unary, 99), "unary_n": len(unary),
            "stream_p50": percentile(streamed, 50), "stream_n": len(streamed)}
