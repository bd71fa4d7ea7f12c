"""The mitmproxy side of vertex-bridge: one small addon per concern, assembled by `make_addons()`
and registered with mitmproxy as one addon, `Bridge` (addon.bundle), which calls them in order.

Order matters: CORS preflights and size limits come before authentication, local endpoints before
the chat route, the request's trace span before the unary upstream call; whatever reads a finished
reply (traces, the mitmweb view, metrics, the access log) comes after the reply translator.
"""

from __future__ import annotations

from typing import Any

from translators.signatures import SignatureStore

from . import error_pages, speedups
from .access_log import AccessLog
from .auth import ClientAuth
from .config import Config
from .cors import Cors
from .direct import DirectCall
from .endpoints import LocalEndpoints
from .flowview import FlowInspector, UpstreamReplyKeeper
from .limits import BodyLimit
from .metrics import Metrics, MetricsEndpoint
from .ratelimit import RateLimiter, TokenCharge
from .relay import UpstreamRelay
from .replay import ClientReplay
from .replies import ReplyTranslator
from .router import ChatRouter
from .tracing import Tracing
from .upstreams import Upstreams
from .vertex import VertexUpstream


def make_addons(overrides: dict[str, Any] | None = None) -> list[Any]:
    """The addons, in hook order (the first is the `Config`); wrap them in `Bridge` to register them."""
    error_pages.install()
    speedups.install()
    config = Config(overrides)
    vertex = VertexUpstream(config)
    signatures = SignatureStore()
    upstreams = Upstreams(config, vertex)
    relay = UpstreamRelay(config, upstreams)
    metrics = Metrics(config, vertex, relay)
    inspector = FlowInspector()
    limiter = RateLimiter(config)
    return [
        config,
        BodyLimit(config),
        Cors(config),
        ClientReplay(),
        ClientAuth(config),
        MetricsEndpoint(config, metrics),
        LocalEndpoints(config, vertex, relay),
        limiter,
        relay,
        vertex,
        ChatRouter(config, vertex, relay, signatures),
        UpstreamReplyKeeper(inspector),
        ReplyTranslator(vertex, signatures),
        TokenCharge(limiter),
        Tracing(config),
        DirectCall(upstreams),
        inspector,
        metrics,
        AccessLog(config),
        speedups.GcFreeze(),
    ]
