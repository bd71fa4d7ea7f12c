"""A small asyncio HTTP/1.1 client: keep-alive, Content-Length and chunked bodies, per-piece timestamps.

It is the load generator when wrk is missing and always the streaming client (wrk cannot time the
pieces of a body). It runs on uvloop when that is installed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

OVERHEAD = b"x-vertex-bridge-overhead-ms"


@dataclass
class Target:
    name: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def request_bytes(self, close: bool = False) -> bytes:
        parts = urlsplit(self.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
                 f"Content-Length: {len(self.body)}", "Connection: close" if close else "Connection: keep-alive",
                 *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Reply:
    status: int
    headers: dict[bytes, bytes]
    keep_alive: bool


async def read_reply(reader: asyncio.StreamReader, on_piece: Callable[[bytes], None] | None = None) -> Reply:
    """Read one response; body pieces go to `on_piece` as they arrive (else they are dropped)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    sink = on_piece or (lambda piece: None)
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            remaining = size
            while remaining:  # hand over what is there now: the pacing of pieces is what we time
                piece = await reader.read(remaining)
                if not piece:
                    raise ConnectionError("connection closed mid-chunk")
                remaining -= len(piece)
                sink(piece)
            await reader.readexactly(2)
    elif b"content-length" in headers:
        remaining = int(headers[b"content-length"])
        while remaining:
            piece = await reader.read(min(remaining, 1 << 20))
            if not piece:
                raise ConnectionError("connection closed mid-body")
            remaining -= len(piece)
            sink(piece)
    else:
        while piece := await reader.read(1 << 16):
            sink(piece)
        return Reply(status, headers, False)
    return Reply(status, headers, headers.get(b"connection", b"").lower() != b"close")


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


async def _worker(target: Target, deadline: float, close: bool, result: LoadResult,
                  max_requests: int | None) -> None:
    request = target.request_bytes(close)
    writer = None
    while time.perf_counter() < deadline and (max_requests is None or len(result.latencies_ms) < max_requests):
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(*target.address)
            started = time.perf_counter()
            writer.write(request)
            reply = await read_reply(reader)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            if reply.status != 200:
                result.errors += 1
            if (value := reply.headers.get(OVERHEAD)) is not None:
                result.overhead_ms.append(float(value))
            if close or not reply.keep_alive:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def closed_loop(target: Target, concurrency: int, seconds: float, close: bool = False,
                      max_requests: int | None = None) -> LoadResult:
    """`concurrency` connections, each sending its next request when the last reply is complete."""
    result = LoadResult()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_worker(target, deadline, close, result, max_requests) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def run(coro):
    """Run a coroutine on uvloop when available (a faster client leaves more CPU to the servers)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
