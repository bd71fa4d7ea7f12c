"""The benchmark harness (scripts/benchmark): its pure helpers, the report it writes, and a smoke run.

Speed itself is measured by `scripts/bench`, never asserted here.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import document, headline, report, stats  # noqa: E402
from benchmark.runner import BRIDGE, DIRECT, LITELLM  # noqa: E402

from addon.workers import _worker_argv  # noqa: E402


def test_percentile_interpolates_between_ranks():
    assert math.isnan(stats.percentile([], 50))
    assert stats.percentile([7], 99) == 7
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([4, 1, 3, 2], 0) == 1
    assert stats.percentile([4, 1, 3, 2], 100) == 4
    assert stats.percentile(list(range(101)), 99) == pytest.approx(99)


def test_summary_and_ratios():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0], errors=1, seconds=2.0, overhead_ms=[0.5, 0.7])
    assert (s.count, s.errors, s.p50, s.max, s.rps) == (4, 1, 2.5, 4.0, 2.0)
    assert s.overhead_p50 == pytest.approx(0.6)
    assert math.isnan(stats.summarize([]).p50)
    assert stats.added(3.0, 1.0) == 2.0
    assert stats.added(1.0, 3.0) == 0.0  # noise never makes a hop look free of cost below zero
    assert math.isnan(stats.ratio(1.0, 0.0))
    assert stats.growth_per(100.0, 101.0, 20_000) == pytest.approx(0.5)
    assert stats.gaps([1.0, 1.5, 3.0]) == [0.5, 1.5]


def test_number_formatting():
    assert stats.fmt(math.nan) == "—"
    assert stats.fmt(1.234, " ms") == "1.23 ms"
    assert stats.fmt(12.34) == "12.3"
    assert stats.fmt(1234.5) == "1,234"
    assert stats.fmt_ratio(0.0421) == "0.042×"
    assert stats.fmt_ratio(12.34) == "12.3×"


def test_table_rendering():
    assert report.table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"


def _summary(p50: float, rps: float, overhead: float = math.nan) -> dict:
    return stats.Summary(count=100, p50=p50, p99=p50 * 2, mean=p50, max=p50 * 3, rps=rps,
                         overhead_p50=overhead).as_dict()


RESULTS = {
    "plan": "synthetic", "tool": "wrk", "started": "today", "rounds": 1, "seconds": 1,
    "machine": {"cpus": "2", "cpu": "test", "python": "3", "kernel": "k", "mitmproxy": "12",
                "aiohttp": "3", "pydantic": "2"},
    "latency": {"small": {"bytes": 200, DIRECT: _summary(0.3, 3000), BRIDGE: _summary(1.8, 500, 0.3),
                          LITELLM: _summary(20.3, 50)}},
    "throughput": {"c16_d0": {DIRECT: _summary(5, 3000), BRIDGE: _summary(30, 600), LITELLM: _summary(300, 50)}},
    "streaming": {DIRECT: {"ttft_p50": 1.0, "gap_p50": 20.0, "gap_p99": 25.0, "together": 0, "gaps": 63, "ok": 1,
                           "count": 1},
                  BRIDGE: {"ttft_p50": 2.0, "gap_p50": 20.0, "gap_p99": 25.5, "together": 0, "gaps": 63, "ok": 1,
                           "count": 1}},
    "memory_streams": {"count": 200, BRIDGE: {"idle_mb": 100.0, "peak_mb": 120.0, "complete": 200}},
    "soak": {"samples": [[0, 120.0], [10_000, 120.0], [20_000, 120.5]], "growth_per_10k_mb": 0.25,
             "second_half_per_10k_mb": 0.5},
}


def test_headline_judges_the_targets():
    rows = {r.figure: r for r in headline.rows(RESULTS)}
    small = rows["added p50 latency, small (0.2 kB), concurrency 1"]
    assert small.values[BRIDGE] == "1.50 ms" and small.values[LITELLM] == "20.0 ms"
    assert small.vs_litellm == "0.075×" and small.met == "yes"
    rps = rows["requests/s at concurrency 16, 0 ms upstream delay"]
    assert rps.vs_litellm == "12.0×" and rps.met == "yes"
    assert rows["RSS at 200 concurrent streams"].met == "yes"


def test_document_renders_every_section_it_has_data_for(tmp_path):
    text = document.render(RESULTS, "--quick")
    assert text.startswith("# Benchmarks")
    assert "## Headline" in text and "## Throughput" in text and "## Memory" in text
    assert "scripts/bench --quick" in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    from benchmark import chart

    assert chart.write(RESULTS, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_workers_pass_everything_else_on():
    argv = ["--port", "4000", "--workers", "2", "--set", "a=b", "--emulator", "--workers=3"]
    assert _worker_argv(argv, None) == ["--port", "4000", "--set", "a=b"]
    emulator = {"vertex_base_url": "http://127.0.0.1:1", "credentials": "/tmp/sa.json", "project": "p"}
    assert _worker_argv(["--workers", "2"], emulator)[-1] == "vertex_project=p"


def test_smoke_run_writes_a_report(tmp_path):
    """The whole harness end to end in seconds: emulator, lean proxy, asyncio client, report."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "scripts")])}
    done = subprocess.run([sys.executable, "-m", "benchmark", "--smoke", "--out", str(tmp_path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    text = (tmp_path / "benchmarks.md").read_text()
    assert "## Headline" in text and "vertex-bridge" in text
    results = json.loads(next(Path(line.split("raw results in ", 1)[1]) for line in done.stderr.splitlines()
                              if "raw results in" in line).read_text())
    small = results["latency"]["small"]
    assert small[DIRECT]["count"] > 0 and small[BRIDGE]["count"] > 0
    assert small[BRIDGE]["errors"] == 0
    assert results["streaming"][BRIDGE]["ok"] == results["streaming"][BRIDGE]["count"]
