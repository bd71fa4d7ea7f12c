"""Prometheus metrics: what was asked, how it went, how long it took, what it cost.

- `Metrics` records every chat request when its reply is complete (the `response` / `error` hooks,
  after the reply translator, so usage and finish reason are known) and reads gauges (open circuits,
  open streams, token refreshes) from the other addons when scraped.
- `MetricsEndpoint` serves them: `GET /metrics` on the main port, behind the client key like every
  other path, or, with `metrics_port` set, on a separate listener without a key (for a scraper on
  a private network).

Labels stay bounded: a model label is the resolved Vertex model if it is one this proxy serves, else
`other` (clients may send any string); upstreams are `vertex` or a configured fallback's name. No key,
token or prompt text ever becomes a label.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from mitmproxy import http
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from . import bookkeeping, paths
from .config import Config
from .exchange import Exchange, exchange_of
from .relay import UpstreamRelay
from .settings import Settings
from .upstreams import VERTEX
from .vertex import VertexUpstream

log = logging.getLogger("vertex_bridge")
PATH = "/metrics"
OTHER, NO_MODEL = "other", "none"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
TOKEN_TYPES = (  # label value, where it is in the OpenAI usage
    ("input", ("prompt_tokens",)),
    ("output", ("completion_tokens",)),
    ("cached", ("prompt_tokens_details", "cached_tokens")),
    ("reasoning", ("completion_tokens_details", "reasoning_tokens")),
)
DONE = "vertex_bridge.metered"


def _usage_count(usage: dict, where: tuple[str, ...]) -> int:
    value: Any = usage
    for key in where:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, int) and value > 0 else 0


class Metrics:
    def __init__(self, config: Config, vertex: VertexUpstream, relay: UpstreamRelay) -> None:
        self.config = config
        self.vertex = vertex
        self.relay = relay
        self.served: frozenset[str] = frozenset()
        self._children: dict[tuple, Any] = {}  # (metric, label values) -> child: labels() is slow
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        registry.register(_Gauges(self))
        self.requests = Counter(
            "vertex_bridge_requests", "Chat completion requests, by model, HTTP status and stream flag.",
            ("model", "status", "stream"), registry=registry)
        self.duration = Histogram(
            "vertex_bridge_request_duration_seconds", "Total time of a chat request, as the client saw it.",
            ("model", "stream"), buckets=LATENCY_BUCKETS, registry=registry)
        self.upstream_duration = Histogram(
            "vertex_bridge_upstream_duration_seconds",
            "Time from handing the translated request to the upstream until its reply ended "
            "(retries and fail-overs included).",
            ("model", "stream", "upstream"), buckets=LATENCY_BUCKETS, registry=registry)
        self.first_byte = Histogram(
            "vertex_bridge_upstream_first_byte_seconds", "Time until the upstream's reply headers arrived.",
            ("model", "stream"), buckets=LATENCY_BUCKETS, registry=registry)
        self.overhead = Histogram(
            "vertex_bridge_proxy_overhead_seconds",
            "Time spent in the proxy's own hooks (translation), not waiting for the upstream.",
            ("stream",), buckets=OVERHEAD_BUCKETS, registry=registry)
        self.tokens = Counter(
            "vertex_bridge_tokens", "Tokens reported by the upstream: input, output, cached (input) and "
            "reasoning (output).", ("model", "type"), registry=registry)
        self.retries = Counter(
            "vertex_bridge_retries", "Upstream attempts repeated before the client saw a byte, by reason.",
            ("upstream", "reason"), registry=registry)
        self.fallbacks = Counter(
            "vertex_bridge_fallbacks", "Chat requests that went to a fallback provider instead of Vertex.",
            ("upstream",), registry=registry)
        self.rate_limited = Counter(
            "vertex_bridge_rate_limited", "Chat requests answered 429: by this proxy's limits, or by the "
            "upstream (after retries).", ("source",), registry=registry)
        config.on_change(self._configure)

    def _configure(self, settings: Settings) -> None:
        self.served = frozenset(settings.models) | frozenset(settings.aliases.values())

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def model_label(self, exchange: Exchange | None) -> str:
        if exchange is None:
            return NO_MODEL
        model = exchange.target.vertex_model
        return model if model in self.served else OTHER

    def response(self, flow: http.HTTPFlow) -> None:
        bookkeeping.after_reply(self._record, flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def _record(self, flow: http.HTTPFlow) -> None:
        path = flow.metadata.get("vertex_bridge.client_path") or flow.request.path
        if flow.metadata.get(DONE) or paths.route(path) != paths.CHAT or flow.request.method == "OPTIONS":
            return  # (a CORS preflight is not a chat request)
        flow.metadata[DONE] = True
        exchange = exchange_of(flow)
        response = flow.response
        status = str(response.status_code) if response is not None else "error"
        model = self.model_label(exchange)
        stream = "true" if exchange is not None and exchange.call.stream else "false"
        self._child(self.requests, model, status, stream).inc()
        if response is not None and response.status_code == 429:
            source = "proxy" if flow.metadata.get("vertex_bridge.rate_limited") else "upstream"
            self._child(self.rate_limited, source).inc()
        if response is not None and response.timestamp_end:
            total = response.timestamp_end - flow.request.timestamp_start
            self._child(self.duration, model, stream).observe(max(0.0, total))
        if exchange is not None:
            self._record_exchange(exchange, model, stream)

    def _record_exchange(self, exchange: Exchange, model: str, stream: str) -> None:
        upstream = exchange.upstream
        if exchange.sent_at:
            if exchange.first_byte_at:
                self._child(self.first_byte, model, stream).observe(max(0.0, exchange.first_byte_at - exchange.sent_at))
            if end := exchange.done_at or exchange.first_byte_at:
                self._child(self.upstream_duration, model, stream, upstream).observe(max(0.0, end - exchange.sent_at))
        self._child(self.overhead, stream).observe(exchange.proxy_seconds)
        if upstream != VERTEX:
            self._child(self.fallbacks, upstream).inc()
        for note in exchange.notes:
            if note.startswith("retry "):
                self._child(self.retries, note.rpartition(" on ")[2], "upstream_error").inc()
            elif note.startswith("MALFORMED_FUNCTION_CALL"):
                self._child(self.retries, VERTEX, "malformed_function_call").inc()
            elif note.startswith("401"):
                self._child(self.retries, VERTEX, "token_refresh").inc()
        if usage := exchange.usage:
            for kind, where in TOKEN_TYPES:
                if count := _usage_count(usage, where):
                    self._child(self.tokens, model, kind).inc(count)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        bookkeeping.flush()  # the replies already sent are counted
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class _Gauges:
    """Read at scrape time from the addons that own the state: circuits, streams, token refreshes."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self):
        relay, tokens = self.metrics.relay, self.metrics.vertex.tokens
        circuits = GaugeMetricFamily("vertex_bridge_circuit_open",
                                     "1 while an upstream's circuit breaker is open or half-open.",
                                     labels=("upstream",))
        for name, snapshot in relay.upstreams.health().items():
            circuits.add_metric((name,), 0 if snapshot["state"] == "closed" else 1)
        yield circuits
        yield GaugeMetricFamily("vertex_bridge_open_streams", "Streamed replies in progress.",
                                value=relay.open_streams)
        refreshes = CounterMetricFamily("vertex_bridge_token_refreshes", "Google OAuth token refreshes, by result.",
                                        labels=("result",))
        refreshes.add_metric(("ok",), tokens.refreshes if tokens else 0)
        refreshes.add_metric(("error",), tokens.failures if tokens else 0)
        yield refreshes


class MetricsEndpoint:
    """`GET /metrics`: on the main port (the client key applies), or on `metrics_port` without one."""

    def __init__(self, config: Config, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self._runner: web.AppRunner | None = None
        self._listening: tuple[str, int] | None = None
        self._started = False
        self._task: asyncio.Task | None = None

    @property
    def on_main_port(self) -> bool:
        s = self.config.settings
        return s.metrics and not s.metrics_port

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.request.path.split("?", 1)[0].rstrip("/") != PATH or not self.on_main_port:
            return
        if flow.request.method not in ("GET", "HEAD"):
            return  # LocalEndpoints answers 404/405 for anything else
        body, content_type = self.metrics.exposition(flow.request.headers.get("accept"))
        flow.response = http.Response.make(200, body, {"content-type": content_type, "cache-control": "no-store"})

    async def running(self) -> None:
        self._started = True
        await self._listen()

    def configure(self, updated) -> None:
        if self._started and any(o.startswith("vertex_") for o in updated):
            self._task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        s = self.config.settings
        wanted = (s.metrics_host, s.metrics_port) if s.metrics and s.metrics_port else None
        if wanted == self._listening:
            return
        await self.done()
        if wanted is None:
            return
        app = web.Application()
        app.router.add_get(PATH, self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, *wanted).start()
        except OSError as e:
            log.error("vertex-bridge: cannot serve metrics on %s:%d: %s", wanted[0], wanted[1], e)
            await self.done()
            return
        self._listening = wanted
        log.info("vertex-bridge: metrics at http://%s:%d%s", wanted[0], wanted[1], PATH)

    async def _serve(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.exposition(request.headers.get("accept"))
        return web.Response(body=body, headers={"content-type": content_type, "cache-control": "no-store"})

    async def done(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner, self._listening = None, None
