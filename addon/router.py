"""The chat route: an OpenAI `POST /v1/chat/completions` becomes a Vertex `generateContent` call.

The request hook parses and translates the body and rewrites the flow into the Vertex request, so
mitmweb shows exactly what is sent. Fresh Google credentials, retries, fallbacks and timeouts are
added on the way out (addon.upstreams): a unary call is made by `DirectCall` within the request hooks
(addon.direct); a stream is pointed at the in-process relay (addon.relay), which mitmproxy then calls.
"""

from __future__ import annotations

import time

import pydantic_core
from mitmproxy import http

from translators.context import ModelTarget, ResponseContext, TranslationOptions
from translators.errors import TranslatorError
from translators.models import resolve_model
from translators.request import parse_request, to_vertex
from translators.signatures import SignatureStore

from . import paths
from .config import Config
from .errors import MethodNotAllowedError, error_response, guarded
from .exchange import Exchange, attach
from .relay import EXCHANGE_HEADER, UpstreamRelay
from .settings import Settings
from .vertex import VertexUpstream

USER_AGENT = b"vertex-bridge/0.1"
MODEL_NAMES_KEPT = 256


class ChatRouter:
    def __init__(self, config: Config, vertex: VertexUpstream, relay: UpstreamRelay,
                 signatures: SignatureStore) -> None:
        self.config = config
        self.vertex = vertex
        self.relay = relay
        self.signatures = signatures
        self.options = TranslationOptions()
        self._targets: dict[str, ModelTarget] = {}  # model name as sent -> target, for these settings
        config.on_change(self._configure)

    def _configure(self, s: Settings) -> None:
        self.options = TranslationOptions(reasoning_output=s.reasoning_output, schema_mode=s.schema_mode)
        self._targets = {}

    def _target(self, model: str) -> ModelTarget:
        target = self._targets.get(model)
        if target is None:
            if len(self._targets) >= MODEL_NAMES_KEPT:  # clients may send any name: stay bounded
                self._targets.clear()
            target = self._targets[model] = resolve_model(model, self.config.settings.aliases)
        return target

    @guarded
    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or paths.route(flow.request.path) != paths.CHAT:
            return
        if flow.request.method != "POST":
            flow.response = error_response(MethodNotAllowedError(
                f"{flow.request.method} is not allowed on /v1/chat/completions; use POST."))
            return
        started = time.perf_counter()
        try:
            self.vertex.check_ready()
            body = flow.request.get_content(strict=False) or b""
            exchange = self._translate(body)
            path = self.vertex.path(exchange.target, exchange.call.stream)
        except TranslatorError as e:
            flow.response = error_response(e)
            return
        flow.metadata["vertex_bridge.client_path"] = flow.request.path.split("?")[0]
        exchange.client_headers, exchange.client_body = flow.request.headers, body  # kept for mitmweb
        self._rewrite(flow, path, exchange)
        attach(flow, exchange)
        exchange.spend(started)
        exchange.sent_at = time.perf_counter()

    def _translate(self, body: bytes) -> Exchange:
        req = parse_request(body)
        target = self._target(req.model)
        options = self.options
        call = to_vertex(req, target, options, self.signatures)
        reply = ResponseContext(
            requested_model=req.model,
            stream=call.stream,
            include_usage=call.include_usage,
            n=call.n,
            reasoning_output=options.reasoning_output,
            tool_names=call.tool_names,
        )
        return Exchange(target=target, call=call, reply=reply, request=req)

    def _rewrite(self, flow: http.HTTPFlow, path: str, exchange: Exchange) -> None:
        """The flow becomes the Vertex request (credentials are added only on the way out).

        A stream is addressed to the relay, under the Host header that names Vertex (for mitmweb).
        """
        request = flow.request
        if exchange.call.stream:
            request.scheme, request.host, request.port = "http", "127.0.0.1", self.relay.port
            self.relay.expect(flow.id, exchange)
            extra: tuple[tuple[bytes, bytes], ...] = ((EXCHANGE_HEADER.encode(), flow.id.encode()),)
        else:
            request.scheme, request.host, request.port = self.vertex.scheme, self.vertex.host, self.vertex.port
            extra = ()
        request.path = path
        body = pydantic_core.to_json(exchange.call.body)  # compact UTF-8; 5x json.dumps on 250 kB
        # Set after the address (whose setters rewrite a Host header), and built as raw fields: the
        # body is plain JSON, so this is what `request.content = body` would do, minus its checks.
        request.headers = http.Headers((
            (b"host", self.vertex.authority.encode()),
            (b"content-type", b"application/json"),
            (b"user-agent", USER_AGENT),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ))
        request.raw_content = body
