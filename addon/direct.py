"""Unary chat requests, answered in the request hook.

A reply that is not streamed can be fetched whole before mitmproxy sends anything back, so the
upstream attempt loop (addon.upstreams: retries, token refresh, fallbacks) is awaited right here and
its reply becomes `flow.response`. mitmproxy then opens no upstream connection of its own and the
relay's socket hop is skipped: about a third less CPU per request (docs/benchmarks.md). The flow
still holds the Vertex request and, until the reply translator runs, the Vertex reply, so mitmweb
shows both. Streams go through the relay (addon.relay), which can feed mitmproxy a reply as it arrives.
"""

from __future__ import annotations

import json

from mitmproxy import http

from . import bookkeeping, tracing
from .errors import guarded
from .exchange import exchange_of
from .upstreams import Failed, Upstreams


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
        result = await tracing.upstream(
            exchange, self.upstreams.open(exchange, flow.request.path, flow.request.raw_content or b""))
        if isinstance(result, Failed):
            exchange.upstream, exchange.retries = result.target, result.retries
            flow.response = http.Response.make(result.status, json.dumps(result.body), result.reply_headers())
            return
        exchange.upstream, exchange.retries = result.target.name, result.retries
        body = await self.upstreams.read_whole(result)
        flow.response = http.Response.make(result.status, body, result.reply_headers())
