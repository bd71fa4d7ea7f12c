"""The upstream relay: a small HTTP server inside the proxy process, between mitmproxy and the upstreams.

mitmproxy forwards each translated request once and cannot restart or feed a reply it has begun to
stream. The router therefore points every chat flow at this relay (127.0.0.1, same event loop), and
the relay does what mitmproxy cannot:

- retries 429/500/503, refreshes the token after a 401, fails over to fallback providers, all before
  the first byte (addon.upstreams);
- streams the upstream reply through as it arrives, writing `: ping` comments while the model thinks
  silently, and a Vertex-style error event when the upstream breaks or goes idle mid-stream;
- notices a client that went away (mitmproxy closes the relay connection) and closes the upstream
  stream at once, so nobody pays for unread tokens.

mitmproxy still sees, shows and translates the Vertex request and reply; replies from an
OpenAI-compatible fallback are marked `x-vertex-bridge-format: openai` and passed through.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref

import aiohttp
from aiohttp import web

from translators.response import is_malformed_call

from . import bookkeeping, tracing
from .config import Config
from .exchange import Exchange
from .upstreams import VERTEX, Failed, Opened, Upstreams

log = logging.getLogger("vertex_bridge")
EXCHANGE_HEADER = "x-vertex-bridge-exchange"
PING = b": ping\r\n\r\n"
MALFORMED = "malformed"
EVENT_ENDS = (b"\n\n", b"\r\n\r\n", b"\r\r")


def first_event_complete(data: bytearray) -> bool:
    return any(end in data for end in EVENT_ENDS)


def first_event(data: bytearray) -> dict:
    """The first SSE event's JSON payload ({} if it is not one)."""
    for line in bytes(data).splitlines():
        if line.startswith(b"data:"):
            try:
                value = json.loads(line[5:])
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def _vertex_error_event(code: int, status: str, message: str) -> bytes:
    payload = {"error": {"code": code, "message": message, "status": status}}
    return b"data: " + json.dumps(payload).encode() + b"\r\n\r\n"


def _openai_error_event(message: str, code: str) -> bytes:
    payload = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


class UpstreamRelay:
    def __init__(self, config: Config, upstreams: Upstreams) -> None:
        self.config = config
        self.upstreams = upstreams
        self.port = 0
        self.open_streams = 0
        self._pending: weakref.WeakValueDictionary[str, Exchange] = weakref.WeakValueDictionary()
        self._runner: web.AppRunner | None = None

    def expect(self, exchange_id: str, exchange: Exchange) -> None:
        """Register a flow's exchange; the relay picks it up by the id the router puts in a header."""
        self._pending[exchange_id] = exchange

    async def running(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=0)
        app.router.add_route("POST", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def done(self) -> None:
        await self.upstreams.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        exchange = self._pending.pop(request.headers.get(EXCHANGE_HEADER, ""), None)
        if exchange is None:
            return web.json_response({"error": {"code": 410, "status": "NOT_FOUND",
                                                "message": "This flow can no longer be relayed (replay it from the client)."}},
                                     status=410)
        return await tracing.upstream(exchange, self._relay(request, exchange))

    async def _relay(self, request: web.Request, exchange: Exchange) -> web.StreamResponse:
        body = await request.read()
        bookkeeping.while_waiting()
        result = await self.upstreams.open(exchange, request.path_qs, body)
        if isinstance(result, Failed):
            return self._failed(exchange, result)
        exchange.upstream, exchange.retries = result.target.name, result.retries
        if result.body is not None or result.response.status != 200 or not exchange.call.stream:
            return await self._whole(result)
        return await self._stream(request, exchange, result, body)

    def _failed(self, exchange: Exchange, failed: Failed) -> web.Response:
        exchange.upstream, exchange.retries = failed.target, failed.retries
        return web.Response(status=failed.status, body=failed.reply_body(), headers=failed.reply_headers())

    async def _whole(self, opened: Opened) -> web.Response:
        body = await self.upstreams.read_whole(opened)
        return web.Response(status=opened.status, body=body, headers=opened.reply_headers())

    async def _stream(self, request: web.Request, exchange: Exchange, opened: Opened,
                      body: bytes) -> web.StreamResponse:
        out = web.StreamResponse(status=200, headers=opened.reply_headers())
        out.enable_chunked_encoding()
        self.open_streams += 1
        try:
            await out.prepare(request)
            if await self._pump(opened, out, hold_first=opened.target.format == VERTEX) == MALFORMED:
                # Only pings have gone out: the retry is still invisible to the client.
                opened.response.close()
                exchange.notes.append("MALFORMED_FUNCTION_CALL: retried once")
                again = await self.upstreams.open(exchange, request.path_qs, body)
                if isinstance(again, Failed) or again.status != 200:
                    await out.write(self._broken(opened, "the retry after a malformed function call failed",
                                                 502, "UNAVAILABLE", "upstream_error"))
                    return out
                opened = again
                await self._pump(opened, out, hold_first=False)
        except (ConnectionResetError, asyncio.CancelledError):
            exchange.notes.append("client went away mid-stream: upstream closed")
            raise
        finally:
            self.open_streams -= 1
            opened.response.close()  # closes the upstream connection if the body was not finished
        return out

    async def _pump(self, opened: Opened, out: web.StreamResponse, hold_first: bool) -> str | None:
        """Copy upstream chunks as they arrive; ping during silences; end broken streams with an error.

        With `hold_first`, the first event is held back until it is complete and checked: a first
        event that finishes with MALFORMED_FUNCTION_CALL is not passed on (returns MALFORMED).
        """
        s = self.config.settings
        content = opened.response.content
        held: bytearray | None = bytearray() if hold_first else None
        last_data = time.monotonic()
        while True:
            wait = min(s.ping_interval, max(0.0, last_data + s.idle_timeout - time.monotonic()))
            try:
                chunk = await asyncio.wait_for(content.readany(), timeout=wait or 0.001)
            except TimeoutError:
                if time.monotonic() - last_data >= s.idle_timeout:
                    await out.write(self._broken(opened, f"no data for {s.idle_timeout:g} s (setting idle_timeout)",
                                                 504, "DEADLINE_EXCEEDED", "upstream_idle_timeout"))
                    return None
                await out.write(PING)
                continue
            except aiohttp.ClientError as e:
                await out.write(bytes(held or b"") + self._broken(
                    opened, f"the connection broke mid-stream ({type(e).__name__})", 502, "UNAVAILABLE",
                    "upstream_disconnected"))
                return None
            last_data = time.monotonic()
            if held is not None and chunk:
                held += chunk
                if not first_event_complete(held):
                    continue
                if is_malformed_call(first_event(held)):
                    return MALFORMED
                chunk, held = bytes(held), None
            if not chunk:
                if held:
                    await out.write(bytes(held))
                await out.write_eof()
                return None
            await out.write(chunk)

    @staticmethod
    def _broken(opened: Opened, what: str, code: int, status: str, openai_code: str) -> bytes:
        message = f"{opened.target.name}: {what}. The reply is incomplete."
        if opened.target.format == VERTEX:
            return _vertex_error_event(code, status, message)
        return _openai_error_event(message, openai_code)
