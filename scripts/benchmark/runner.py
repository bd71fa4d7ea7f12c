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
    ramp: tuple[int, ...] = (50, 100, 150, 200, 300, 400)
    memory_streams: int = 200
    soak_requests: int = 20_000
    variants: tuple[str, ...] = ("quiet", "uvloop", "workers")
    mitmdump: bool = True
    litellm: bool = True
    profile: bool = True
    micro: bool = True
    wrk: bool = True


PLANS = {
    "full": Plan("full", seconds=5, rounds=2),
    "quick": Plan("quick", seconds=2, rounds=1, streams=3, ramp=(50, 100, 200), soak_requests=4_000,
                  variants=("workers",), profile=False),
    "smoke": Plan("smoke", seconds=0.5, rounds=1, sizes=("small",), concurrency=(4,), delays_ms=(0,), streams=1,
                  ramp=(4,), memory_streams=4, soak_requests=200, variants=(), mitmdump=False, litellm=False,
                  profile=False, micro=False, wrk=False),
}

STREAM_CHUNKS, CHUNK_INTERVAL_MS = 64, 20


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
        self.services[LITELLM] = service
        self.log(f"LiteLLM {self.results['litellm_version']} ready")

    def start_variant(self, kind: str) -> procs.Process | None:
        if kind == "uvloop" and not _importable("uvloop"):
            self.note("uvloop is not installed: the uvloop variant was skipped.")
            return None
        if kind == "workers" and not _supports_workers():
            self.note("this vertex-bridge has no --workers option: the workers variant was skipped.")
            return None
        service = procs.proxy(kind, self.emulator, self.workdir)
        try:
            return service.wait_ready()
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
                       close: bool = False) -> dict[str, Summary]:
        """Each target measured `rounds` times, interleaved; per target the round with the median p50."""
        seconds = seconds or self.plan.seconds
        runs: dict[str, list[Summary]] = {t.name: [] for t in targets}
        for _ in range(self.plan.rounds):
            for target in targets:
                runs[target.name].append(self.load.measure(target, concurrency, seconds, close))
        return {name: _median_run(summaries) for name, summaries in runs.items()}

    # -- reporting helpers ------------------------------------------------------------------------

    def log(self, message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.log(message)


def _median_run(summaries: list[Summary]) -> Summary:
    valid = [s for s in summaries if not math.isnan(s.p50)] or summaries
    middle = sorted(valid, key=lambda s: s.p50)[(len(valid) - 1) // 2]
    rates = [s.rps for s in valid if not math.isnan(s.rps)]
    if rates:
        middle.rps = statistics.median(rates)
    middle.errors = sum(s.errors for s in summaries)
    return middle


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _supports_workers() -> bool:
    import subprocess

    out = subprocess.run([sys.executable, "-m", "addon.cli", "--help"], capture_output=True, text=True,
                         cwd=procs.ROOT, env={**os.environ, "PYTHONPATH": f"{procs.ROOT}:{procs.ROOT / 'scripts'}"})
    return "--workers" in out.stdout
