"""One benchmark run: the plan (how long, how many), the started services, and the results collected.

Every figure is measured on the same machine in the same run, with the targets interleaved round by
round, so noise from other work on the machine falls on all of them alike; the median of the rounds
is kept.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .aclient import Target
from .bodies import Body
from .load import Load
from .stats import Summary

DIRECT, BRIDGE, MITMDUMP, LITELLM = "direct", "vertex-bridge", "mitmdump", "litellm"


@dataclass
class Plan:
    name: str
    seconds: float  # one load measurement
    rounds: int  # interleaved repetitions; the median is kept
    sizes: tuple[str, ...] = ("small", "medium", "cursor")
    concurrency: tuple[int, ...] = (16, 64)
    delays_ms: tuple[int, ...] = (0, 20)
    streams: int = 10  # sequential streams for time to first token and gaps
    ramp: tuple[int, ...] = (25, 50, 100, 150, 200, 300)
    memory_streams: int = 200
    soak_requests: int = 20_000
    variants: tuple[str, ...] = ("quiet", "uvloop", "workers")
    mitmdump: bool = True
    litellm: bool = True
    profile: bool = True
    micro: bool = True
    wrk: bool = True
    stream_chunks: int = 64  # per stream, paced at CHUNK_INTERVAL_MS
    reuse_requests: int = 400
    skip: tuple[str, ...] = ()  # steps left out of this plan


PLANS = {
    "full": Plan("full", seconds=2, rounds=4),
    "quick": Plan("quick", seconds=1, rounds=3, streams=3, ramp=(25, 50, 100, 200), soak_requests=4_000,
                  variants=("workers",), profile=False),
    "smoke": Plan("smoke", seconds=0.5, rounds=1, sizes=("small",), concurrency=(4,), delays_ms=(0,), streams=1,
                  ramp=(4,), memory_streams=4, soak_requests=200, variants=(), mitmdump=False, litellm=False,
                  profile=False, micro=False, wrk=False, stream_chunks=8, reuse_requests=100, skip=("close",)),
}

CHUNK_INTERVAL_MS = 20
WORKERS = 2


@dataclass
class Run:
    plan: Plan
    workdir: Path
    results: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    services: dict[str, procs.Process] = field(default_factory=dict)
    emulator: procs.Emulator | None = None
    token: str = ""

    def __post_init__(self) -> None:
        self._t0 = time.monotonic()
        self.load = Load(self.workdir, prefer_wrk=self.plan.wrk)
        self.results.update(plan=self.plan.name, tool=self.load.tool, machine=procs.machine(),
                            started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), load_before=os.getloadavg())

    # -- services ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.emulator = procs.Emulator(self.workdir).wait_ready()
        self.token = self.emulator.token()
        self.log(f"emulator (fast mode) at {self.emulator.url}")
        self.services[BRIDGE] = procs.proxy("lean", self.emulator, self.workdir)
        if self.plan.mitmdump:
            self.services[MITMDUMP] = procs.proxy("mitmdump", self.emulator, self.workdir)
        for service in self.services.values():
            service.wait_ready()
        self.log("vertex-bridge (lean runner)" + (" and mitmdump -s" if self.plan.mitmdump else "") + " ready")
        if self.plan.litellm:
            self._start_litellm()

    def _start_litellm(self) -> None:
        executable = procs.find_litellm()
        if executable is None:
            self.note("LiteLLM is not installed, so it is not compared (install it with "
                      "`scripts/bench --install-litellm`); ratios are given to direct calls only.")
            return
        self.results["litellm_version"] = procs.LiteLLM.version(executable)
        service = procs.LiteLLM(executable, self.emulator, self.workdir)
        try:
            service.wait_ready(timeout=180)
        except RuntimeError as e:
            self.note(f"LiteLLM did not start ({e}); it is not compared.")
            service.stop()
            return
        problem = self._verify_litellm(service)
        if problem:
            self.note(f"LiteLLM started but did not reach the emulator ({problem}); it is not compared.")
            service.stop()
            return
        self.services[LITELLM] = service
        self.log(f"LiteLLM {self.results['litellm_version']} ready; a request through it reached the emulator")

    def _verify_litellm(self, service: procs.Process) -> str | None:
        """One request through LiteLLM with the emulator's request log on: a 200, and the emulator saw it."""
        import urllib.request

        self.emulator.configure(fast=False)
        try:
            request = urllib.request.Request(
                service.url + "/v1/chat/completions", data=b'{"model": "gemini-2.5-flash", "messages": '
                b'[{"role": "user", "content": "bench check"}]}',
                headers={"content-type": "application/json", "authorization": f"Bearer {procs.API_KEY}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                status, reply = response.status, response.read()
            entries = procs.http_json(self.emulator.url + "/_emulator/log")
        except OSError as e:
            return f"{type(e).__name__}: {e}"
        finally:
            self.emulator.configure(fast=True)
        seen = [e for e in entries if "litellm" in str(e.get("headers", {}).get("User-Agent", "")).lower()
                and e.get("status") == 200]
        if status != 200 or not seen or b"bench check" not in reply:
            return f"status {status}, {len(seen)} matching emulator log entries"
        self.results["litellm_check"] = {"status": status, "emulator_path": seen[-1]["path"]}
        return None

    def start_variant(self, kind: str) -> procs.Process | None:
        if kind == "uvloop" and not _importable("uvloop"):
            self.note("uvloop is not installed: the uvloop variant was skipped.")
            return None
        if kind == "workers" and not _supports_workers():
            self.note("this vertex-bridge has no --workers option: the workers variant was skipped.")
            return None
        service = procs.proxy(kind, self.emulator, self.workdir, workers=WORKERS)
        try:
            service.wait_ready()
            # Connections are spread when they are opened: every worker must listen before load starts.
            return service.wait_log("listening at", WORKERS) if kind == "workers" else service
        except RuntimeError as e:
            self.note(f"variant {kind} did not start: {e}")
            service.stop()
            return None

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        if self.emulator is not None:
            self.emulator.stop()
        self.results["load_after"] = os.getloadavg()

    @property
    def compared(self) -> list[str]:
        """The targets measured against each other, direct first."""
        return [DIRECT, *self.services]

    # -- targets ----------------------------------------------------------------------------------

    def target(self, name: str, body: Body, service: procs.Process | None = None) -> Target:
        if name == DIRECT:
            return Target(DIRECT, self.emulator.vertex_url(body.stream), body.vertex,
                          {"Authorization": f"Bearer {self.token}"})
        service = service or self.services[name]
        return Target(name, service.url + "/v1/chat/completions", body.openai,
                      {"Authorization": f"Bearer {procs.API_KEY}"})

    def upstream(self, **config) -> None:
        """Change the emulator's behaviour (delay_ms, stream_chunks, chunk_interval_ms)."""
        self.emulator.configure(**{"delay_ms": 0, "stream_chunks": 3, "chunk_interval_ms": 0, **config})

    def measure_rounds(self, targets: list[Target], concurrency: int, seconds: float | None = None,
                       close: bool = False, processes: dict[str, procs.Process] | None = None,
                       rounds: int | None = None) -> dict[str, Summary]:
        """Each target measured `rounds` times, interleaved round by round; per target the medians.

        The server's CPU time per request is taken from /proc around each round.
        """
        seconds = seconds or self.plan.seconds
        processes = {DIRECT: self.emulator, **self.services, **(processes or {})}
        runs: dict[str, list[Summary]] = {t.name: [] for t in targets}
        for _ in range(min(rounds or self.plan.rounds, self.plan.rounds)):
            for target in targets:
                process = processes.get(target.name)
                cpu = process.cpu_seconds() if process else math.nan
                summary = self.load.measure(target, concurrency, seconds, close)
                if process and summary.count:
                    summary.cpu_ms = (process.cpu_seconds() - cpu) * 1000 / summary.count
                runs[target.name].append(summary)
        return {name: _median_run(summaries) for name, summaries in runs.items()}

    def measure_together(self, targets: list[Target], concurrency: int, seconds: float,
                         processes: dict[str, procs.Process] | None = None) -> dict[str, Summary]:
        """All targets loaded at once, in rounds that alternate which starts first; medians per target.

        Sharing the machine at the same moment, their CPU time per request compares their efficiency
        whatever else the machine is doing."""
        processes = {DIRECT: self.emulator, **self.services, **(processes or {})}
        runs: dict[str, list[Summary]] = {t.name: [] for t in targets}
        for i in range(max(self.plan.rounds, 2)):
            order = targets if i % 2 == 0 else targets[::-1]
            cpu = {t.name: processes[t.name].cpu_seconds() for t in order if t.name in processes}
            got = self.load.measure_together(order, concurrency, seconds)
            for name, summary in got.items():
                if name in cpu and summary.count:
                    summary.cpu_ms = (processes[name].cpu_seconds() - cpu[name]) * 1000 / summary.count
                runs[name].append(summary)
        return {name: _median_run(summaries) for name, summaries in runs.items()}

    # -- reporting helpers ------------------------------------------------------------------------

    def log(self, message: str) -> None:
        print(f"[bench +{time.monotonic() - self._t0:4.0f}s] {message}", file=sys.stderr, flush=True)

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.log(message)


def _median_run(summaries: list[Summary]) -> Summary:
    """Each figure's median over the rounds (robust to a round hit by other work), counts summed."""
    def median(field: str) -> float:
        values = [getattr(s, field) for s in summaries if not math.isnan(getattr(s, field))]
        return statistics.median(values) if values else math.nan

    return Summary(count=sum(s.count for s in summaries), errors=sum(s.errors for s in summaries),
                   p50=median("p50"), p99=median("p99"), mean=median("mean"), max=max(s.max for s in summaries),
                   rps=median("rps"), overhead_p50=median("overhead_p50"), cpu_ms=median("cpu_ms"))


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _supports_workers() -> bool:
    import subprocess

    out = subprocess.run([sys.executable, "-m", "addon.cli", "--help"], capture_output=True, text=True,
                         cwd=procs.ROOT, env={**os.environ, "PYTHONPATH": f"{procs.ROOT}:{procs.ROOT / 'scripts'}"})
    return "--workers" in out.stdout
