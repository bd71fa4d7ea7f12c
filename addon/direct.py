"""Unary chat requests, answered in the request hook.

A reply that is not streamed can be fetched whole before mitmproxy sends anything back, so the
upstream attempt loop (addon.upstreams: retries, token refresh, fallbacks) is awaited right here and
its reply becomes `flow.response`. mitmproxy then opens no upstream connection of its own and the
relay's socket hop is skipped: about a third less CPU per request (docs/benchmarks.md). The flow
still holds the Vertex request and, until the reply translator runs, the Vertex reply, so mitmweb
shows both. Streams go through the relay (addon.relay), which can feed mitmproxy a reply as it arrives.

While the call waits, the client's connection is checked every `CLIENT_CHECK` seconds: once the client
has closed it, the call is cancelled (closing the upstream connection) and the flow is killed.
"""

from __future__ import annotations

import asyncio

from mitmproxy import http
from mitmproxy.connection import ConnectionState

from . import bookkeeping, tracing
from .errors import guarded
from .exchange import Exchange, exchange_of
from .upstreams import Failed, Upstreams

CLIENT_CHECK = 1.0  # seconds between checks that the client of a waiting unary call is still connected


class ClientWatch:
    """Cancels the running task once the flow's client has closed its connection."""

    def __init__(self, flow: http.HTTPFlow) -> None:
        self.flow = flow
        task = asyncio.current_task()
        assert task is not None, "a hook runs in a task"
        self.task = task
        self.client_gone = False
        self._timer = asyncio.get_running_loop().call_later(CLIENT_CHECK, self._check)

    def _check(self) -> None:
        if self.flow.client_conn.state & ConnectionState.CAN_READ:
            self._timer = asyncio.get_running_loop().call_later(CLIENT_CHECK, self._check)
        else:
            self.client_gone = True
            self.task.cancel()

    def stop(self) -> None:
        self._timer.cancel()


class DirectCall:
    """Goes after `Tracing` (whose span the upstream call joins) and every other request hook."""

    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams

    @guarded
    async def request(self, flow: http.HTTPFlow) -> None:
        exchange = exchange_of(flow)
        if flow.response or exchange is None or exchange.call.stream:
            return
        bookkeeping.while_waiting()  # the last reply's log line and metrics, while this one is upstream
        watch = ClientWatch(flow)
        try:
            await self._call(flow, exchange)
        except asyncio.CancelledError:
            if not watch.client_gone:
                raise
            watch.task.uncancel()
            exchange.notes.append("client went away: upstream call cancelled")
            flow.kill()
        finally:
            watch.stop()

    async def _call(self, flow: http.HTTPFlow, exchange: Exchange) -> None:
        result = await tracing.upstream(
            exchange, self.upstreams.open(exchange, flow.request.path, flow.request.raw_content or b""))
        if isinstance(result, Failed):
            exchange.upstream, exchange.retries = result.target, result.retries
            flow.response = http.Response.make(result.status, result.reply_body(), result.reply_headers())
            return
        exchange.upstream, exchange.retries = result.target.name, result.retries
        body = await self.upstreams.read_whole(result)
        flow.response = http.Response.make(result.status, body, result.reply_headers())
