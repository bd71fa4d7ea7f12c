"""Soak test: many concurrent streaming clients through the proxy while the emulator injects faults.

    scripts/soak [--clients 200] [--seconds 60] [--seed 7]

Starts the Vertex emulator (random 429s, 503s, mid-stream errors, connection resets, slow chunks) and
`vertex-bridge` in front of it, runs the clients for a bounded time (loopback only), then reports:
requests done, completed streams, clean OpenAI errors, broken or hung streams (must be 0), proxy
restarts (must be 0), and the proxy's resident memory at start and end with growth per 10k requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
FAULTS = {"p429": 0.08, "p503": 0.08, "mid_stream_error": 0.05, "reset": 0.05, "slow_chunks": 0.1}
KEY = "soak-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=ROOT)


async def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def classify(status: int, body: bytes) -> str:
    """completed | clean_error | broken"""
    if status != 200:
        try:
            error = json.loads(body)["error"]
            return "clean_error" if error.get("message") else "broken"
        except (ValueError, KeyError, TypeError):
            return "broken"
    events = [e[6:] for e in body.decode("utf-8", "replace").split("\n\n") if e.startswith("data: ")]
    if not events:
        return "broken"
    if events[-1] == "[DONE]":
        finishes = [json.loads(e)["choices"][0].get("finish_reason") for e in events[:-1]
                    if json.loads(e).get("choices")]
        return "completed" if sum(1 for f in finishes if f) == 1 else "broken"
    try:
        return "clean_error" if json.loads(events[-1]).get("error") else "broken"
    except ValueError:
        return "broken"


async def client(session: aiohttp.ClientSession, url: str, stop_at: float, counts: Counter, hang: float) -> None:
    body = {"model": "gemini-2.5-flash", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "soak test"}]}
    while time.monotonic() < stop_at:
        try:
            async with asyncio.timeout(hang):
                async with session.post(url, json=body, headers={"Authorization": f"Bearer {KEY}"}) as resp:
                    counts[classify(resp.status, await resp.read())] += 1
        except TimeoutError:
            counts["hung"] += 1
        except aiohttp.ClientError:
            counts["broken"] += 1
        counts["requests"] += 1


async def soak(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "scripts")]), "NO_GCE_CHECK": "true"}
    emu_port, proxy_port = free_port(), free_port()
    sa = work / "sa.json"
    emulator = start([sys.executable, "-m", "vertex_emulator", "--port", str(emu_port), "--stream-chunks", "8",
                      "--chunk-interval-ms", "20", "--faults", json.dumps(FAULTS), "--seed", str(args.seed),
                      "--write-service-account", str(sa)], env, work / "emulator.log")
    await wait_http(f"http://127.0.0.1:{emu_port}/_emulator/health")
    proxy_env = {**env, "GOOGLE_APPLICATION_CREDENTIALS": str(sa), "GOOGLE_CLOUD_PROJECT": "soak",
                 "VERTEX_BRIDGE_VERTEX_BASE_URL": f"http://127.0.0.1:{emu_port}", "VERTEX_BRIDGE_API_KEYS": KEY,
                 "VERTEX_BRIDGE_LOG_FORMAT": "json"}
    proxy = start([sys.executable, "-m", "addon.cli", "--port", str(proxy_port)], proxy_env, work / "proxy.log")
    try:
        await wait_http(f"http://127.0.0.1:{proxy_port}/health")
        rss_start = rss_mb(proxy.pid)
        counts: Counter = Counter()
        url = f"http://127.0.0.1:{proxy_port}/v1/chat/completions"
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            stop_at = time.monotonic() + args.seconds
            clients = asyncio.gather(*(client(session, url, stop_at, counts, args.hang) for _ in range(args.clients)))
            await asyncio.sleep(args.seconds / 4)  # warmed up: buffers and caches have their size
            rss_warm, warm_requests = rss_mb(proxy.pid), counts["requests"]
            await clients
        rss_end, end_requests = rss_mb(proxy.pid), counts["requests"]
        await asyncio.sleep(2)
        rss_idle = rss_mb(proxy.pid)
        restarts = 0 if proxy.poll() is None else 1
    finally:
        proxy.terminate()
        emulator.terminate()
    done = counts["requests"]
    return {
        "clients": args.clients, "seconds": args.seconds, "requests": done,
        "completed_streams": counts["completed"], "clean_errors": counts["clean_error"],
        "broken_streams": counts["broken"], "hung_streams": counts["hung"], "proxy_restarts": restarts,
        "rss_start_mb": round(rss_start, 1), "rss_warm_mb": round(rss_warm, 1),
        "rss_end_mb": round(rss_end, 1), "rss_idle_after_mb": round(rss_idle, 1),
        "rss_growth_per_10k_mb": round((rss_end - rss_warm) / max(end_requests - warm_requests, 1) * 10_000, 2),
        "faults": FAULTS, "logs": str(work),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--hang", type=float, default=60, help="seconds after which a stream counts as hung")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    report = asyncio.run(soak(args))
    for key, value in report.items():
        print(f"{key:>24}: {value}")
    ok = report["broken_streams"] == report["hung_streams"] == report["proxy_restarts"] == 0
    print("soak:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
