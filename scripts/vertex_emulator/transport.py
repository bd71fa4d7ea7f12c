"""Writes a rendered ``Plan`` to the client: unary JSON, SSE events, or a streamed JSON array.

Each stream event is awaited onto the socket as it is produced, so pacing is
real, and progress (chunks sent, client gone) is recorded in the request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .render import Plan
from .wire import ARRAY_CLOSE, JSON_HEADERS, SSE_HEADERS, array_element, array_wrapped, sse_event, unary_body

Progress = Callable[..., None]  # called with log fields to update


def json_response(status: int, body: Any, *, stream: bool = False,
                  headers: dict[str, str] | None = None) -> web.Response:
    """A whole JSON body; streamGenerateContent wraps errors in a one-element array."""
    data = body if isinstance(body, bytes) else array_wrapped(body) if stream else unary_body(body)
    return web.Response(status=status, body=data, headers={**JSON_HEADERS, **(headers or {})})


async def send_plan(request: web.Request, plan: Plan, *, stream: bool, sse: bool, delay_ms: int,
                    chunk_interval_ms: int, progress: Progress) -> web.StreamResponse:
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
        if request.transport is None or request.transport.is_closing():
            progress(client_disconnected=True)  # the caller gave up while "the model thought"
            return web.Response(status=499)
    if plan.status != 200:
        progress(status=plan.status)
        return json_response(plan.status, plan.events[0], stream=stream)
    if not stream:
        return _send_unary(request, plan, progress)
    return await _send_stream(request, plan, sse=sse, interval_ms=chunk_interval_ms, progress=progress)


def _send_unary(request: web.Request, plan: Plan, progress: Progress) -> web.StreamResponse:
    reply = plan.reply
    if reply.break_after is not None and reply.break_mode == "drop":
        progress(status=None, dropped=True)
        request.transport.abort()
        return web.StreamResponse()
    if reply.break_after is not None:
        code = reply.break_error["error"]["code"]
        progress(status=code)
        return json_response(code, reply.break_error)
    progress(status=200)
    return json_response(200, plan.events[0])


def _encode(event: Any, index: int, sse: bool) -> bytes:
    if isinstance(event, bytes):
        return event
    return sse_event(event) if sse else array_element(event, index)


async def _send_stream(request: web.Request, plan: Plan, *, sse: bool, interval_ms: int,
                       progress: Progress) -> web.StreamResponse:
    reply = plan.reply
    response = web.StreamResponse(status=200, headers=SSE_HEADERS if sse else JSON_HEADERS)
    response.enable_chunked_encoding()
    events = plan.events
    stop_at = len(events) if reply.break_after is None else min(reply.break_after, len(events))
    raw = any(isinstance(event, bytes) for event in events)
    sent = 0
    try:
        await response.prepare(request)
        progress(status=200)
        for index in range(stop_at):
            if index and interval_ms:
                await asyncio.sleep(interval_ms / 1000)
            await response.write(_encode(events[index], index, sse))
            sent = index + 1
            progress(chunks_sent=sent)
        if reply.break_after is not None and reply.break_mode == "drop":
            progress(dropped=True)
            request.transport.abort()
            return response
        if reply.break_after is not None:
            await response.write(_encode(reply.break_error, sent, sse))
        if not sse and not raw:
            await response.write(ARRAY_CLOSE)
        await response.write_eof()
        progress(completed=True)
    except (ConnectionError, asyncio.CancelledError) as exc:
        progress(client_disconnected=True, chunks_sent=sent)
        if isinstance(exc, asyncio.CancelledError):
            raise
    return response
