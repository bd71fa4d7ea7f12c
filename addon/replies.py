"""Vertex replies back into OpenAI form.

- A streamed 200 is translated chunk by chunk as it arrives: `responseheaders` installs a
  `StreamTranslator` as `flow.response.stream`, so nothing is buffered.
- A unary reply, or any error status, is read whole and translated in `response`.
- A 401 means the Google token went bad (revoked, or expired early): before anything reaches the
  client, the token is refreshed once and the request sent again. mitmproxy cannot restart an
  exchange it already forwarded, so the retry is our own upstream call (see addon.upstream_call).
"""

from __future__ import annotations

import json
import time

from mitmproxy import http

from translators.response import to_openai_response
from translators.signatures import SignatureStore
from translators.stream import StreamTranslator, translate_stream_body
from translators.upstream_errors import vertex_error_to_openai

from translators.errors import TranslatorError, UpstreamReplyError

from .errors import error_response, json_response
from .exchange import Exchange, exchange_of
from .upstream_call import UpstreamCall
from .vertex import VertexUpstream

OVERHEAD_HEADER = "x-vertex-bridge-overhead-ms"  # time spent in the proxy, not waiting for Vertex
SSE_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}
DROPPED_UPSTREAM_HEADERS = ("content-length", "content-encoding", "content-disposition", "vary",
                            "x-xss-protection", "x-frame-options", "x-content-type-options",
                            "alt-svc", "server-timing", "server")


class TranslatingStream:
    """The callable mitmproxy feeds each upstream chunk to (and b"" at the end)."""

    def __init__(self, translator: StreamTranslator, exchange: Exchange) -> None:
        self.translator = translator
        self.exchange = exchange

    def __call__(self, data: bytes) -> bytes:
        started = time.perf_counter()
        out = self.translator.feed(data) if data else self.translator.finish()
        self.exchange.spend(started)
        return out


class ReplyTranslator:
    def __init__(self, vertex: VertexUpstream, signatures: SignatureStore, upstream: UpstreamCall) -> None:
        self.vertex = vertex
        self.signatures = signatures
        self.upstream = upstream

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        exchange = exchange_of(flow)
        if exchange is None or flow.response is None:
            return
        exchange.first_byte_at = started = time.perf_counter()
        response = flow.response
        for name in DROPPED_UPSTREAM_HEADERS:
            response.headers.pop(name, None)
        response.headers["x-vertex-bridge-upstream"] = exchange.upstream
        if exchange.call.stream and response.status_code == 200:
            translator = StreamTranslator(exchange.reply, self.signatures)
            exchange.stream = translator
            response.stream = TranslatingStream(translator, exchange)
            response.headers.update(SSE_HEADERS)
        exchange.spend(started)
        # For a stream this is the request-side share; the per-chunk share goes to the log line.
        response.headers[OVERHEAD_HEADER] = f"{exchange.proxy_seconds * 1000:.3f}"

    async def response(self, flow: http.HTTPFlow) -> None:
        exchange = exchange_of(flow)
        if exchange is None or flow.response is None:
            return
        exchange.done_at = time.perf_counter()
        translator = exchange.stream
        if translator is not None:
            exchange.usage, exchange.finish_reason = translator.usage, translator.finish_reason
            return
        status, body = flow.response.status_code, flow.response.get_content(strict=False) or b""
        try:
            if status == 401 and exchange.token and self.vertex.tokens:
                status, body = await self._retry_after_refresh(flow, exchange)
            started = time.perf_counter()
            flow.response = self._translate(exchange, status, body)
        except TranslatorError as e:
            started = time.perf_counter()
            flow.response = error_response(e)
        flow.response.headers["x-vertex-bridge-upstream"] = exchange.upstream
        exchange.spend(started)
        flow.response.headers[OVERHEAD_HEADER] = f"{exchange.proxy_seconds * 1000:.3f}"

    async def _retry_after_refresh(self, flow: http.HTTPFlow, exchange: Exchange) -> tuple[int, bytes]:
        headers = await self.vertex.refreshed_headers(exchange.token.removeprefix("Bearer "))
        exchange.retries += 1
        exchange.notes.append("401: token refreshed, retried")
        request_headers = {**dict(flow.request.headers), **headers}
        return await self.upstream.post(flow.request.url, request_headers, flow.request.raw_content or b"")

    def _translate(self, exchange: Exchange, status: int, body: bytes) -> http.Response:
        if status != 200:
            mapped_status, error = vertex_error_to_openai(
                status, body, model=exchange.target.vertex_model, location=self.vertex.settings.location)
            return json_response(mapped_status, error)
        if exchange.call.stream:
            content = translate_stream_body(body, exchange.reply, self.signatures)
            return http.Response.make(200, content, SSE_HEADERS)
        try:
            vertex_reply = json.loads(body)
        except ValueError:
            raise UpstreamReplyError("Vertex returned a reply that is not JSON.") from None
        reply = to_openai_response(vertex_reply, exchange.reply, self.signatures)
        exchange.usage = reply.get("usage")
        exchange.finish_reason = (reply.get("choices") or [{}])[0].get("finish_reason")
        return json_response(200, reply)
