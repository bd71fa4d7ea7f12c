"""The chat route: an OpenAI `POST /v1/chat/completions` becomes a Vertex `generateContent` call.

The request hook parses and translates the body, then points the flow at Vertex with fresh Google
credentials. mitmproxy itself sends it upstream, so mitmweb shows the translated request.
"""

from __future__ import annotations

import json
import time

from mitmproxy import http

from translators.context import ResponseContext, TranslationOptions
from translators.errors import TranslatorError
from translators.models import resolve_model
from translators.request import parse_request, to_vertex
from translators.signatures import SignatureStore

from . import paths
from .config import Config
from .errors import MethodNotAllowedError, error_response
from .exchange import KEY, Exchange
from .vertex import VertexUpstream

USER_AGENT = "vertex-bridge/0.1"


class ChatRouter:
    def __init__(self, config: Config, vertex: VertexUpstream, signatures: SignatureStore) -> None:
        self.config = config
        self.vertex = vertex
        self.signatures = signatures

    def _options(self) -> TranslationOptions:
        s = self.config.settings
        return TranslationOptions(reasoning_output=s.reasoning_output, schema_mode=s.schema_mode)

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or paths.route(flow.request.path) != paths.CHAT:
            return
        if flow.request.method != "POST":
            flow.response = error_response(MethodNotAllowedError(
                f"{flow.request.method} is not allowed on /v1/chat/completions; use POST."))
            return
        started = time.perf_counter()
        try:
            exchange = self._translate(flow.request.get_content(strict=False) or b"", started)
            headers = await self.vertex.auth_headers()
            path = self.vertex.path(exchange.target, exchange.call.stream)
        except TranslatorError as e:
            flow.response = error_response(e)
            return
        resumed = time.perf_counter()
        flow.metadata["vertex_bridge.client_path"] = flow.request.path.split("?")[0]
        self._point_at_vertex(flow.request, path, headers, exchange)
        exchange.token = headers.get("authorization")
        flow.metadata[KEY] = exchange
        exchange.spend(resumed)
        exchange.sent_at = time.perf_counter()

    def _translate(self, body: bytes, started: float) -> Exchange:
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
        exchange = Exchange(target=target, call=call, reply=reply, received_at=started)
        exchange.spend(started)
        return exchange

    def _point_at_vertex(self, request: http.Request, path: str, auth: dict[str, str], exchange: Exchange) -> None:
        vertex = self.vertex
        request.scheme, request.host, request.port = vertex.scheme, vertex.host, vertex.port
        request.path = path
        request.headers = http.Headers(
            host=vertex.authority,
            content_type="application/json",
            accept_encoding="identity",
            user_agent=USER_AGENT,
            **{k.replace("-", "_"): v for k, v in auth.items()},
        )
        request.content = json.dumps(exchange.call.body, separators=(",", ":"), ensure_ascii=False).encode()
