"""Streaming measurements: time to first token, gaps between content chunks, streams held at once.

Each SSE event is timestamped when its last byte arrives. Only events that carry text count as
chunks (a Vertex `"text"` part; an OpenAI delta with non-empty `"content"`), so the proxy's extra
events (the role delta, the finish chunk, `[DONE]`) do not look like chunks arriving together.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .aclient import Target, read_reply
from .stats import gaps, percentile

VERTEX_TEXT = re.compile(rb'"text":\s*"[^"]')
OPENAI_CONTENT = re.compile(rb'"content":\s*"[^"]')
EVENT_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class Stream:
    ok: bool = False
    ttft_ms: float = float("nan")  # request written -> first event carrying text
    chunk_times: list[float] = field(default_factory=list)  # perf_counter of each text-carrying event

    @property
    def gaps_ms(self) -> list[float]:
        return [g * 1000 for g in gaps(self.chunk_times)]


async def one_stream(target: Target, content: re.Pattern[bytes], timeout: float = 60.0,
                     connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None) -> Stream:
    """One streamed request, on its own connection or on `connection` (kept alive)."""
    result = Stream()
    buffer = bytearray()

    def on_piece(piece: bytes) -> None:
        now = time.perf_counter()
        buffer.extend(piece)
        *events, rest = EVENT_END.split(bytes(buffer))
        buffer[:] = rest
        for event in events:
            if content.search(event):
                result.chunk_times.append(now)

    writer = None
    try:
        reader, writer = connection or await asyncio.open_connection(*target.address)
        started = time.perf_counter()
        writer.write(target.request_bytes(close=connection is None))
        reply = await asyncio.wait_for(read_reply(reader, on_piece), timeout)
        result.ok = reply.status == 200 and bool(result.chunk_times)
        if result.chunk_times:
            result.ttft_ms = (result.chunk_times[0] - started) * 1000
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        result.ok = False
    finally:
        if writer is not None and connection is None:
            writer.close()
    return result


async def sequential(target: Target, content: re.Pattern[bytes], count: int) -> list[Stream]:
    """`count` streams one after the other on one kept-alive connection, as SDK clients do."""
    reader, writer = await asyncio.open_connection(*target.address)
    try:
        return [await one_stream(target, content, connection=(reader, writer)) for _ in range(count)]
    finally:
        writer.close()


async def concurrent(target: Target, content: re.Pattern[bytes], count: int, spread_s: float = 0.1,
                     sample: Callable[[], None] | None = None, sample_every_s: float = 0.1) -> list[Stream]:
    """`count` streams at once (starts spread over `spread_s`); `sample()` is called meanwhile."""
    async def delayed() -> Stream:
        await asyncio.sleep(random.random() * spread_s)
        return await one_stream(target, content)

    tasks = [asyncio.ensure_future(delayed()) for _ in range(count)]
    if sample is not None:
        while not all(t.done() for t in tasks):
            sample()
            await asyncio.sleep(sample_every_s)
    return list(await asyncio.gather(*tasks))


@dataclass
class Held:
    """How `count` concurrent streams fared."""

    count: int
    ok: int
    worst_delay_ms: float  # the largest gap beyond the upstream's pacing
    gap_p99_ms: float

    def passed(self, limit_ms: float) -> bool:
        return self.ok == self.count and self.worst_delay_ms <= limit_ms


def held(streams: list[Stream], interval_ms: float) -> Held:
    """Gaps while every stream was open (after the last one got its first chunk): the steady state,
    not the burst of starting them."""
    firsts = [s.chunk_times[0] for s in streams if s.chunk_times]
    since = max(firsts, default=0.0)
    all_gaps = [(b - a) * 1000 for s in streams for a, b in zip(s.chunk_times, s.chunk_times[1:]) if b > since]
    worst = max(all_gaps, default=float("nan")) - interval_ms
    return Held(len(streams), sum(s.ok for s in streams), worst, percentile(all_gaps, 99))


def gap_summary(streams: list[Stream]) -> dict[str, float]:
    all_gaps = [g for s in streams if s.ok for g in s.gaps_ms]
    ttfts = [s.ttft_ms for s in streams if s.ok]
    return {"ttft_p50": percentile(ttfts, 50), "ttft_p99": percentile(ttfts, 99),
            "gap_p50": percentile(all_gaps, 50), "gap_p99": percentile(all_gaps, 99),
            "together": sum(1 for g in all_gaps if g < 2.0),  # chunks that arrived with the previous one
            "gaps": len(all_gaps), "ok": sum(s.ok for s in streams), "count": len(streams),
            "chunks_p50": percentile([len(s.chunk_times) for s in streams], 50)}
