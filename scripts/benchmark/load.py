"""Closed-loop HTTP load: wrk when installed, else the asyncio client. Both give a `Summary`.

wrk runs with one thread (it is written in C and needs far less than a core at these rates, which
leaves the second core to the servers). Its Lua hooks count non-200 replies and collect the proxy's
`x-vertex-bridge-overhead-ms` header, so the self-report can be compared with the client's view.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import aclient
from .aclient import Target
from .stats import Summary, percentile, summarize

WRK_SCRIPT = r"""
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb")); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "application/json"
for k, v in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^\n:]+): ([^\n]+)") do wrk.headers[k] = v end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; overheads = {} end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
  local v = headers["x-vertex-bridge-overhead-ms"] or headers["X-Vertex-Bridge-Overhead-Ms"]
  if v and #overheads < 100000 then overheads[#overheads + 1] = tonumber(v) end
end
function done(summary, latency, requests)
  local bad_total, ov = 0, {}
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    for _, v in ipairs(t:get("overheads")) do ov[#ov + 1] = v end
  end
  table.sort(ov)
  local ov50 = -1
  if #ov > 0 then ov50 = ov[math.floor((#ov + 1) / 2)] end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d, "non200": %d, "socket_errors": %d, "overhead_p50": %.4f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    latency.max, bad_total, e.connect + e.read + e.write + e.timeout, ov50))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


class Load:
    """Runs measurements with one tool for the whole run (the same tool for every target)."""

    def __init__(self, workdir: Path, prefer_wrk: bool = True) -> None:
        self.workdir = workdir
        self.wrk = wrk_path() if prefer_wrk else None
        self.tool = "wrk" if self.wrk else "asyncio client"
        self._script = workdir / "bench.lua"
        self._script.write_text(WRK_SCRIPT)

    def measure(self, target: Target, concurrency: int, seconds: float, close: bool = False) -> Summary:
        if self.wrk:
            return self._wrk(target, concurrency, seconds, close)
        result = aclient.run(aclient.closed_loop(target, concurrency, seconds, close))
        return summarize(result.latencies_ms, errors=result.errors, seconds=result.seconds,
                         overhead_ms=result.overhead_ms)

    def measure_together(self, targets: list[Target], concurrency: int, seconds: float) -> dict[str, Summary]:
        """Load every target at the same time: each gets the same share of a busy machine, so the ratio of
        their request rates is the ratio of their efficiency, whatever else the machine is doing."""
        from concurrent.futures import ThreadPoolExecutor

        if not self.wrk:
            async def both():
                import asyncio

                return await asyncio.gather(*(aclient.closed_loop(t, concurrency, seconds) for t in targets))

            results = aclient.run(both())
            return {t.name: summarize(r.latencies_ms, errors=r.errors, seconds=r.seconds, overhead_ms=r.overhead_ms)
                    for t, r in zip(targets, results)}
        with ThreadPoolExecutor(len(targets)) as pool:
            futures = {t.name: pool.submit(self._wrk, t, concurrency, seconds, False) for t in targets}
            return {name: future.result() for name, future in futures.items()}

    def count(self, target: Target, concurrency: int, requests: int) -> Summary:
        """About `requests` requests (for memory growth), with the asyncio client's exact count."""
        result = aclient.run(aclient.closed_loop(target, concurrency, 3600, max_requests=requests))
        return summarize(result.latencies_ms, errors=result.errors, seconds=result.seconds)

    def _wrk(self, target: Target, concurrency: int, seconds: float, close: bool) -> Summary:
        body = Path(tempfile.mkstemp(dir=self.workdir, suffix=".json")[1])
        body.write_bytes(target.body)
        headers = {**target.headers, **({"Connection": "close"} if close else {})}
        env = {"BENCH_BODY": str(body), "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
               "PATH": "/usr/bin:/bin"}
        cmd = [self.wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(self._script), target.url]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
        body.unlink(missing_ok=True)
        line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH_RESULT ")), None)
        if line is None:
            raise RuntimeError(f"wrk gave no result for {target.name}: {out.stdout}\n{out.stderr}")
        r = json.loads(line.removeprefix("BENCH_RESULT "))
        seconds_run = r["duration_us"] / 1e6
        return Summary(count=r["requests"], errors=r["non200"] + r["socket_errors"],
                       p50=r["p50_us"] / 1000, p99=r["p99_us"] / 1000, mean=r["mean_us"] / 1000,
                       max=r["max_us"] / 1000, rps=r["requests"] / seconds_run if seconds_run else float("nan"),
                       overhead_p50=r["overhead_p50"] if r["overhead_p50"] >= 0 else float("nan"))


__all__ = ["Load", "Target", "percentile"]
