"""Upstream replies back into OpenAI form.

- A streamed 200 is translated chunk by chunk as it arrives: `responseheaders` installs a
  `StreamTranslator` as `flow.response.stream`, so nothing is buffered.
- A unary reply, or any error status (streams included), is read whole and translated in `response`.
- Replies the relay marks `x-vertex-bridge-format: openai` (a fallback provider's, or the relay's
  own errors) are already OpenAI-shaped and pass through untouched.
"""

from __future__ import annotations

import logging
import time

import pydantic_core
from mitmproxy import http

from translators.errors import TranslatorError, UpstreamReplyError
from translators.response import to_openai_response
from translators.signatures import SignatureStore
from translators.stream import StreamTranslator
from translators.upstream_errors import vertex_error_to_openai

from .errors import error_response, guarded
from .exchange import Exchange, exchange_of
from .upstreams import FORMAT_HEADER, OPENAI
from .vertex import VertexUpstream

log = logging.getLogger("vertex_bridge")
OVERHEAD_HEADER = "x-vertex-bridge-overhead-ms"  # time spent in the proxy, not waiting for upstream
SSE_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}
DROPPED_HEADERS = (FORMAT_HEADER, "server", "content-encoding")


class TranslatingStream:
    """The callable mitmproxy feeds each upstream chunk to (and b"" at the end)."""

    def __init__(self, translator: StreamTranslator, exchange: Exchange) -> None:
        self.translator = translator
        self.exchange = exchange

    def __call__(self, data: bytes) -> bytes | list[bytes]:
        started = time.perf_counter()
        try:
            out = self.translator.feed(data) if data else self.translator.finish()
        except Exception:
            log.exception("vertex-bridge: internal error translating a stream")
            out = self.translator.fail("vertex-bridge hit an internal error; the details are in the proxy's log.",
                                       "internal_error")
        self.exchange.spend(started)
        # mitmproxy writes b"" as an empty HTTP/1.1 chunk — the end-of-body marker. A read that
        # completed no event must send nothing at all.
        return out or []


class ReplyTranslator:
    def __init__(self, vertex: VertexUpstream, signatures: SignatureStore) -> None:
        self.vertex = vertex
        self.signatures = signatures

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        exchange = exchange_of(flow)
        if exchange is None or flow.response is None:
            return
        exchange.first_byte_at = started = time.perf_counter()
        response = flow.response
        passthrough = exchange.passthrough = response.headers.get(FORMAT_HEADER) == OPENAI
        for name in DROPPED_HEADERS:
            response.headers.pop(name, None)
        if exchange.call.stream and response.status_code == 200:
            response.headers.update(SSE_HEADERS)
            response.headers.pop("content-length", None)
            if passthrough:
                response.stream = True
            else:
                exchange.stream = StreamTranslator(exchange.reply, self.signatures)
                response.stream = TranslatingStream(exchange.stream, exchange)
        else:
            response.headers["content-type"] = "application/json"
        exchange.spend(started)
        # For a stream this is the request-side share; the per-chunk share goes to the log line.
        response.headers[OVERHEAD_HEADER] = f"{exchange.proxy_seconds * 1000:.3f}"

    @guarded
    def response(self, flow: http.HTTPFlow) -> None:
        exchange = exchange_of(flow)
        if exchange is None or flow.response is None:
            return
        exchange.done_at = started = time.perf_counter()
        if exchange.stream is not None:
            exchange.usage, exchange.finish_reason = exchange.stream.usage, exchange.stream.finish_reason
            return
        if exchange.passthrough or flow.response.stream:
            return
        try:
            self._translate(flow.response, exchange)
        except TranslatorError as e:
            flow.response = error_response(e)
        exchange.spend(started)
        flow.response.headers[OVERHEAD_HEADER] = f"{exchange.proxy_seconds * 1000:.3f}"

    def _translate(self, response: http.Response, exchange: Exchange) -> None:
        status, body = response.status_code, response.get_content(strict=False) or b""
        if status != 200:
            status, reply = vertex_error_to_openai(
                status, body, model=exchange.target.vertex_model, location=self.vertex.settings.location)
            response.status_code = status
            response.content = pydantic_core.to_json(reply)
            return
        try:
            vertex_reply = pydantic_core.from_json(body)  # about 3x json.loads
        except ValueError:
            raise UpstreamReplyError("Vertex returned a reply that is not JSON.") from None
        reply = to_openai_response(vertex_reply, exchange.reply, self.signatures)
        exchange.usage = reply.get("usage")
        exchange.finish_reason = (reply.get("choices") or [{}])[0].get("finish_reason")
        exchange.reply_text = ((reply.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        response.content = pydantic_core.to_json(reply)
