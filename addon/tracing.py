"""OpenTelemetry traces, following the GenAI semantic conventions (the optional `otel` extra).

    pip install 'vertex-bridge[otel]'
    OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 vertex-bridge

Tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and
off when `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Spans go out over OTLP:
http/protobuf, or gRPC with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` (and opentelemetry-exporter-otlp-proto-grpc
installed). The other standard variables apply as usual: `OTEL_SERVICE_NAME` (default vertex-bridge),
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, …
When tracing is off nothing from opentelemetry is imported and every hook returns at once.

Spans:
- `chat {model}` (SERVER), one per chat request, from its first byte to the reply's last:
  `gen_ai.operation.name`, `gen_ai.system` = `vertex_ai` (and `gen_ai.provider.name` = `gcp.vertex_ai`),
  `gen_ai.request.model` (as the client named it), `gen_ai.request.stream`, the request's sampling
  parameters, `gen_ai.response.model`, `gen_ai.response.id`, `gen_ai.usage.input_tokens` /
  `output_tokens` (and cached / reasoning tokens), `gen_ai.response.finish_reasons`,
  `http.response.status_code`, `vertex_bridge.upstream`, `vertex_bridge.retries`. A client's
  `traceparent` header makes it a child of the client's trace.
  - `upstream {name}` (CLIENT): the relay's call to Vertex or a fallback, retries and the streamed
    body included; each retry, refresh or fail-over note is an event.
    - `token refresh` (CLIENT): a Google token refresh this request started. Background refreshes,
      ahead of expiry, are root spans of their own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Mapping
from typing import Any

from mitmproxy import http

from . import paths
from .config import Config
from .exchange import Exchange, exchange_of

log = logging.getLogger("vertex_bridge")
SCOPE = "vertex_bridge"
_tracer: Any = None  # an opentelemetry Tracer while tracing is on
_NOTHING = contextlib.nullcontext()


def configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Do the standard OTEL_* variables ask for traces to be exported?"""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def otlp_provider(environ: Mapping[str, str] = os.environ):
    """A TracerProvider exporting in batches over OTLP, configured by the standard variables."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    if protocol.strip().lower() == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "vertex-bridge"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def enabled() -> bool:
    return _tracer is not None


def span(name: str, **attributes: Any):
    """A span around a block (a child of the current one), or nothing when tracing is off."""
    if _tracer is None:
        return _NOTHING
    from opentelemetry.trace import SpanKind

    return _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes)


async def upstream[T](exchange: Exchange, reply: Awaitable[T]) -> T:
    """Await the relay's reply inside an `upstream` span, the child of the request's span."""
    if exchange.span is None or _tracer is None:
        return await reply
    from opentelemetry import trace

    with _tracer.start_as_current_span(
            "upstream", context=trace.set_span_in_context(exchange.span), kind=trace.SpanKind.CLIENT) as current:
        try:
            result = await reply
            if status := getattr(result, "status", None):
                current.set_attribute("http.response.status_code", status)
                if status >= 500:
                    current.set_status(trace.StatusCode.ERROR)
            return result
        finally:
            current.update_name(f"upstream {exchange.upstream}")
            current.set_attributes({"vertex_bridge.upstream": exchange.upstream,
                                    "vertex_bridge.retries": exchange.retries})
            for note in exchange.notes:
                current.add_event(note)


def _ns(timestamp: float | None) -> int | None:
    return int(timestamp * 1e9) if timestamp else None


def _request_attributes(exchange: Exchange) -> dict[str, Any]:
    req = exchange.request
    attributes: dict[str, Any] = {
        "gen_ai.request.model": exchange.target.requested_model,
        "gen_ai.request.stream": exchange.call.stream,
    }
    optional = {
        "gen_ai.request.max_tokens": req.max_completion_tokens or req.max_tokens,
        "gen_ai.request.temperature": req.temperature,
        "gen_ai.request.top_p": req.top_p,
        "gen_ai.request.top_k": req.top_k,
        "gen_ai.request.seed": req.seed,
        "gen_ai.request.presence_penalty": req.presence_penalty,
        "gen_ai.request.frequency_penalty": req.frequency_penalty,
        "gen_ai.request.choice.count": req.n if req.n and req.n != 1 else None,
        "gen_ai.request.stop_sequences": [req.stop] if isinstance(req.stop, str) else req.stop,
    }
    attributes.update({k: v for k, v in optional.items() if v is not None})
    return attributes


class Tracing:
    """Starts the request span once the router has translated the request; ends it with the reply."""

    def __init__(self, config: Config, provider: Any = None) -> None:
        self.config = config
        self.provider = provider  # a TracerProvider to use instead of the OTLP one (tests)
        self._owned = False
        self._spans: weakref.WeakKeyDictionary[http.HTTPFlow, Any] = weakref.WeakKeyDictionary()

    def load(self, loader) -> None:
        global _tracer
        if self.provider is None and configured():
            try:
                self.provider = otlp_provider()
            except ImportError as e:
                log.warning("vertex-bridge: OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing needs the otel extra "
                            "(pip install 'vertex-bridge[otel]'): %s", e)
                return
            self._owned = True
        if self.provider is not None:
            _tracer = self.provider.get_tracer(SCOPE)

    def done(self) -> None:
        global _tracer
        _tracer = None
        if self._owned and self.provider is not None:
            self.provider.shutdown()  # flushes the spans still queued

    def request(self, flow: http.HTTPFlow) -> None:
        if _tracer is None:
            return
        path = flow.metadata.get("vertex_bridge.client_path") or flow.request.path
        if paths.route(path) != paths.CHAT or flow.request.method == "OPTIONS":
            return
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind

        exchange = exchange_of(flow)
        headers = exchange.client_headers if exchange is not None and exchange.client_headers else flow.request.headers
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "vertex_ai",
            "gen_ai.provider.name": "gcp.vertex_ai",
            "http.request.method": flow.request.method,
            "http.route": "/v1/chat/completions",
            "url.path": path.split("?")[0],
        }
        if exchange is not None:
            attributes.update(_request_attributes(exchange))
        name = f"chat {exchange.target.requested_model}" if exchange is not None else "chat"
        self._spans[flow] = started = _tracer.start_span(
            name, context=propagate.extract({k.lower(): v for k, v in headers.items()}), kind=SpanKind.SERVER,
            attributes=attributes, start_time=_ns(flow.request.timestamp_start))
        if exchange is not None:
            exchange.span = started

    def response(self, flow: http.HTTPFlow) -> None:
        self._end(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._end(flow)

    def _end(self, flow: http.HTTPFlow) -> None:
        current = self._spans.pop(flow, None)
        if current is None:
            return
        from opentelemetry.trace import StatusCode

        exchange = exchange_of(flow)
        response = flow.response
        if exchange is not None:
            current.set_attributes(self._reply_attributes(exchange))
        if response is not None:
            current.set_attribute("http.response.status_code", response.status_code)
        if flow.error is not None:
            current.set_attribute("error.type", "connection_error")
            current.set_status(StatusCode.ERROR, flow.error.msg)
        elif response is not None and response.status_code >= 500:
            current.set_attribute("error.type", str(response.status_code))
            current.set_status(StatusCode.ERROR)
        end = response.timestamp_end if response is not None and response.timestamp_end else time.time()
        current.end(end_time=_ns(end))

    def _reply_attributes(self, exchange: Exchange) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "gen_ai.response.model": self._response_model(exchange),
            "vertex_bridge.upstream": exchange.upstream,
            "vertex_bridge.retries": exchange.retries,
        }
        if not exchange.passthrough:
            attributes["gen_ai.response.id"] = exchange.reply.completion_id
        if exchange.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = [exchange.finish_reason]
        usage = exchange.usage or {}
        counts = {
            "gen_ai.usage.input_tokens": usage.get("prompt_tokens"),
            "gen_ai.usage.output_tokens": usage.get("completion_tokens"),
            "gen_ai.usage.cache_read.input_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
            "gen_ai.usage.reasoning.output_tokens":
                (usage.get("completion_tokens_details") or {}).get("reasoning_tokens"),
        }
        attributes.update({k: v for k, v in counts.items() if isinstance(v, int)})
        return attributes

    def _response_model(self, exchange: Exchange) -> str:
        from .upstreams import VERTEX  # (addon.upstreams imports addon.tokens, which imports this module)

        target = exchange.target
        if exchange.upstream == VERTEX:
            return target.vertex_model
        for provider in self.config.settings.fallback:
            if provider.name == exchange.upstream:
                return provider.model_for(target.requested_model, target.vertex_model)
        return target.vertex_model
