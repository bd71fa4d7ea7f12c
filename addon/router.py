"""The chat route: an OpenAI `POST /v1/chat/completions` becomes a Vertex `generateContent` call.

The request hook parses and translates the body and rewrites the flow into the Vertex request, so
mitmweb shows exactly what is sent. The flow then goes through the in-process upstream relay
(addon.relay), which adds fresh Google credentials and handles retries, fallbacks and timeouts.
"""

from __future__ import annotations

import time

import pydantic_core
from mitmproxy import http

from translators.context import ResponseContext, TranslationOptions
from translators.errors import TranslatorError
from translators.models import resolve_model
from translators.request import parse_request, to_vertex
from translators.signatures import SignatureStore

from . import paths
from .config import Config
from .errors import MethodNotAllowedError, error_response, guarded
from .exchange import Exchange, attach
from .relay import EXCHANGE_HEADER, UpstreamRelay
from .vertex import VertexUpstream

USER_AGENT = "vertex-bridge/0.1"


class ChatRouter:
    def __init__(self, config: Config, vertex: VertexUpstream, relay: UpstreamRelay,
                 signatures: SignatureStore) -> None:
        self.config = config
        self.vertex = vertex
        self.relay = relay
        self.signatures = signatures

    def _options(self) -> TranslationOptions:
        s = self.config.settings
        return TranslationOptions(reasoning_output=s.reasoning_output, schema_mode=s.schema_mode)

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
        self._point_at_relay(flow, path, exchange)
        attach(flow, exchange)
        exchange.spend(started)
        exchange.sent_at = time.perf_counter()

    def _translate(self, body: bytes) -> Exchange:
        req = parse_request(body)
        target = resolve_model(req.model, self.config.settings.aliases)
        options = self._options()
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

    def _point_at_relay(self, flow: http.HTTPFlow, path: str, exchange: Exchange) -> None:
        """The Vertex request, sent via the relay: the Host header still names Vertex, for mitmweb."""
        request = flow.request
        request.scheme, request.host, request.port = "http", "127.0.0.1", self.relay.port
        request.path = path
        request.headers = http.Headers(
            host=self.vertex.authority,
            content_type="application/json",
            user_agent=USER_AGENT,
        )
        request.headers[EXCHANGE_HEADER] = flow.id
        self.relay.expect(flow.id, exchange)
        request.content = pydantic_core.to_json(exchange.call.body)  # compact UTF-8; 5x json.dumps on 250 kB
