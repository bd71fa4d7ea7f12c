"""docs/benchmarks.md from a run's results (a plain dict, also saved as JSON next to the logs)."""

from __future__ import annotations

import math

from .headline import NAMES, added_latency, rows
from .runner import BRIDGE, DIRECT, LITELLM
from .stats import added, fmt, fmt_ratio, ratio

NAN = math.nan


def table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def _targets(results: dict) -> list[str]:
    return [n for n in NAMES if n in results.get("latency", {}).get("small", {})]


def headline(results: dict) -> str:
    got = rows(results)
    names = [n for n in _targets(results) if n != DIRECT]
    header = ["figure", "target", *(NAMES[n] for n in names), "vertex-bridge / LiteLLM", "target met"]
    return table(header, [[r.figure, r.target, *(r.values.get(n, "—") for n in names), r.vs_litellm, r.met]
                          for r in got])


def latency(results: dict) -> str:
    names = _targets(results)
    body = []
    for size, entry in results.get("latency", {}).items():
        p50 = added_latency(results, size, "p50")
        for name in names:
            s = entry[name]
            body.append([f"{size} ({entry['bytes']:,} B)", NAMES[name], fmt(s["p50"]), fmt(s["p99"]),
                         "" if name == DIRECT else fmt(p50[name]), fmt_ratio(ratio(s["p50"], entry[DIRECT]["p50"])),
                         fmt_ratio(ratio(p50.get(name, NAN), p50.get(LITELLM, NAN))) if name != DIRECT else "",
                         fmt(s["overhead_p50"]), fmt(s.get("cpu_ms", NAN)), f"{s['count']:,}", s["errors"]])
    return table(["request", "path", "p50 ms", "p99 ms", "added p50 ms", "p50 / direct", "added / LiteLLM's",
                  "self-reported overhead p50 ms", "server CPU ms / request", "requests", "errors"], body)


def throughput(results: dict) -> str:
    names = _targets(results)
    body = []
    ceiling = max((e.get(DIRECT, {}).get("rps", 0) for e in results.get("throughput", {}).values()), default=0)
    fastest = max((e.get(n, {}).get("rps", 0) for e in results.get("throughput", {}).values() for n in names
                   if n != DIRECT), default=0)
    check = (f"The load generator is not the bottleneck: against direct it reached {fmt(ceiling, digits=0)} "
             f"requests/s, the proxies at most {fmt(fastest, digits=0)}.\n\n" if ceiling else "")
    for key, entry in results.get("throughput", {}).items():
        c, d = key[1:].split("_d")
        for name in names:
            s = entry[name]
            body.append([c, f"{d} ms", NAMES[name], fmt(s["rps"], digits=0), fmt(s["p50"]), fmt(s["p99"]),
                         fmt_ratio(ratio(s["rps"], entry[DIRECT]["rps"])),
                         fmt_ratio(ratio(s["rps"], entry.get(LITELLM, {}).get("rps", NAN))),
                         fmt(s.get("cpu_ms", NAN)), s["errors"]])
    return check + table(["concurrency", "upstream delay", "path", "requests/s", "p50 ms", "p99 ms", "÷ direct",
                  "÷ LiteLLM", "server CPU ms / request", "errors"], body)


def streaming(results: dict) -> str:
    data, held = results.get("streaming", {}), results.get("held", {})
    body = []
    for name in _targets(results):
        s, h = data.get(name, {}), held.get(name, {})
        base = data.get(DIRECT, {})
        body.append([NAMES[name], fmt(s.get("ttft_p50", NAN)), fmt(s.get("gap_p50", NAN)), fmt(s.get("gap_p99", NAN)),
                     "" if name == DIRECT else fmt(added(s.get("ttft_p50", NAN), base.get("ttft_p50", NAN))),
                     "" if name == DIRECT else fmt(added(s.get("gap_p99", NAN), base.get("gap_p99", NAN))),
                     f"{s.get('together', '—')} / {s.get('gaps', '—')}", f"{s.get('ok', '—')}/{s.get('count', '—')}",
                     f"{h.get('max_held', '—')} (of up to {h.get('tested_up_to', '—')})" if h else "—"])
    steps = []
    for name in _targets(results):
        for step in held.get(name, {}).get("steps", []):
            steps.append([NAMES[name], step["count"], step.get("try", 1), f"{step['ok']}/{step['count']}",
                          fmt(step["worst_delay_ms"]), fmt(step["gap_p99_ms"])])
    return (table(["path", "first token p50 ms", "gap p50 ms", "gap p99 ms", "added first token ms",
                   "added gap p99 ms", "chunks arriving together", "complete", "most streams held"], body)
            + "\n\nStreams held at once: streams of 160 chunks (3.2 s) start over one second; a step passes "
            "when every stream completes and, while all of them are open, no gap exceeds the 20 ms pacing by more "
            "than 50 ms. A failed step is tried once more; the ramp stops when both tries fail.\n\n"
            + table(["path", "streams", "try", "complete", "worst delay ms", "gap p99 ms"], steps))


def memory(results: dict) -> str:
    mem, soak = results.get("memory_streams", {}), results.get("soak", {})
    if not mem and not soak:
        return ""
    body = [[NAMES[n], fmt(mem[n]["idle_mb"]), fmt(mem[n]["peak_mb"]), f"{mem[n]['complete']}/{mem['count']}"]
            for n in _targets(results) if n in mem]
    text = table(["process", "idle RSS MB", f"peak RSS MB, {mem.get('count')} streams", "complete"], body)
    if soak:
        samples = ", ".join(f"{fmt(mb)} MB after {n:,}" for n, mb in soak["samples"])
        text += (f"\n\nvertex-bridge RSS over {soak['samples'][-1][0]:,} requests (after a warm-up): {samples}; "
                 f"growth {fmt(soak['growth_per_10k_mb'])} MB per 10k requests overall, "
                 f"{fmt(soak['second_half_per_10k_mb'])} MB per 10k in the second half.")
    return text


def connections(results: dict) -> str:
    parts = []
    reuse = results.get("reuse", {})
    if reuse:
        parts.append(table(["client", "requests", "new upstream connections", "per request"],
                           [[k.replace("_", "-"), v["requests"], fmt(v["upstream_connections"], digits=0),
                             fmt(v["per_request"])] for k, v in reuse.items()]))
    close = results.get("connection_close", {})
    body = []
    for key, entry in close.items():
        for name, pair in entry.items():
            keep, shut = pair["keep_alive"], pair["close"]
            body.append([key[1:], NAMES[name], fmt(keep["p50"]), fmt(shut["p50"]), fmt(keep["rps"], digits=0),
                         fmt(shut["rps"], digits=0), fmt_ratio(ratio(shut["rps"], keep["rps"]))])
    if body:
        parts.append(table(["concurrency", "path", "p50 ms keep-alive", "p50 ms close", "requests/s keep-alive",
                            "requests/s close", "close ÷ keep-alive"], body))
    return "\n\n".join(parts)


def variants(results: dict) -> str:
    body = []
    for kind, entry in results.get("variants", {}).items():
        if "together" in entry:
            base, other = entry["together"][BRIDGE], entry["together"][kind]
            base_cpu, other_cpu = base.get("cpu_ms", NAN), other.get("cpu_ms", NAN)
            body.append([kind, "16 + 16, both at once", fmt(base["p50"]), fmt(other["p50"]), "", "",
                         fmt(base["rps"], digits=0), fmt(other["rps"], digits=0), _change(other["rps"], base["rps"]),
                         fmt(base_cpu), fmt(other_cpu), f"**{_change(other_cpu, base_cpu)}**"])
        for key in ("c1", "c1 medium", "c1 cursor", "c16", "c64"):
            if key not in entry:
                continue
            base, other = entry[key][BRIDGE], entry[key][kind]
            base_cpu, other_cpu = base.get("cpu_ms", NAN), other.get("cpu_ms", NAN)
            label = key[1:].replace(" medium", " (medium body)").replace(" cursor", " (cursor body)")
            body.append([kind, label, fmt(base["p50"]), fmt(other["p50"]), fmt(base["p99"]), fmt(other["p99"]),
                         fmt(base["rps"], digits=0), fmt(other["rps"], digits=0), _change(other["rps"], base["rps"]),
                         fmt(base_cpu), fmt(other_cpu), _change(other_cpu, base_cpu)])
    if not body:
        return ""
    return table(["variant", "concurrency", "p50 ms default", "p50 ms variant", "p99 ms default", "p99 ms variant",
                  "requests/s default", "requests/s variant", "requests/s change", "CPU ms/req default",
                  "CPU ms/req variant", "CPU change"], body)


def _change(new: float, old: float) -> str:
    r = ratio(new, old)
    return "—" if math.isnan(r) else f"{(r - 1) * 100:+.0f}%"


def micro(results: dict) -> str:
    data = results.get("micro", {})
    if not data:
        return ""
    parts = []
    for section in ("parsers", "request_path"):
        entry = data.get(section, {})
        if "error" in entry:
            parts.append(f"{section}: not measured ({entry['error']})")
            continue
        sizes = list(entry)
        steps = list(dict.fromkeys(k for s in sizes for k in entry[s]))
        parts.append(table(["step (µs per call)", *sizes],
                           [[step, *(fmt(entry[s].get(step, NAN)) for s in sizes)] for step in steps]))
    reply = data.get("reply_path", {})
    if reply and "error" not in reply:
        parts.append(table(["reply step", "µs per call"], [[k, fmt(v)] for k, v in reply.items()]))
    return "\n\n".join(parts)


def profile(results: dict) -> str:
    prof = results.get("profile", {})
    if not prof.get("samples"):
        return prof.get("note", "Not profiled in this run (`--profile`, py-spy needed).")
    areas = ", ".join(f"{name} {share:.0f}%" for name, share in prof["self_by_area"])
    text = (f"py-spy, {prof['samples']:,} samples of the event loop while vertex-bridge served concurrency "
            f"{prof.get('concurrency', 16)}. Own time by area: {areas}.\n\n")
    text += table(["our code, inclusive", "share"], [[f"`{k}`", f"{v:.1f}%"] for k, v in prof["top_ours"]])
    text += "\n\n" + table(["hottest frames, self", "share"], [[f"`{k}`", f"{v:.1f}%"] for k, v in prof["top_self"]])
    return text


def selfreport(results: dict) -> str:
    log = results.get("selfreport", {})
    small = results.get("latency", {}).get("small", {})
    if not log or BRIDGE not in small:
        return ""
    client_added = added_latency(results, "small").get(BRIDGE, NAN)
    return (f"For small requests at concurrency 1 the client saw {fmt(client_added)} ms added; the proxy's "
            f"`x-vertex-bridge-overhead-ms` header said {fmt(small[BRIDGE]['overhead_p50'])} ms (p50), and its access "
            f"log's `overhead_ms` {fmt(log.get('unary_p50', NAN))} ms (p50 over {log.get('unary_n', 0):,} unary "
            f"requests; {fmt(log.get('stream_p50', NAN))} ms per stream, chunks included). The difference is "
            "mitmproxy's own work (HTTP parsing and assembly, connection handling, hooks) plus the loopback hops, "
            "which the proxy does not see from inside its hooks.")
