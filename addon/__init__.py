"""The mitmproxy side of vertex-bridge: one small addon per concern, assembled by `make_addons()`.

Order matters: CORS preflights and size limits come before authentication, local endpoints before
the chat route, and the access log last.
"""

from __future__ import annotations

from typing import Any

from translators.signatures import SignatureStore

from . import error_pages
from .access_log import AccessLog
from .auth import ClientAuth
from .config import Config
from .cors import Cors
from .endpoints import LocalEndpoints
from .limits import BodyLimit
from .ratelimit import RateLimiter, TokenCharge
from .relay import UpstreamRelay
from .replies import ReplyTranslator
from .router import ChatRouter
from .upstreams import Upstreams
from .vertex import VertexUpstream


def make_addons(overrides: dict[str, Any] | None = None) -> list[Any]:
    error_pages.install()
    config = Config(overrides)
    vertex = VertexUpstream(config)
    signatures = SignatureStore()
    upstreams = Upstreams(config, vertex)
    relay = UpstreamRelay(config, upstreams)
    return [
        config,
        BodyLimit(config),
        Cors(config),
        ClientAuth(config),
        LocalEndpoints(config, vertex, relay),
        RateLimiter(config),
        relay,
        vertex,
        ChatRouter(config, vertex, relay, signatures),
        ReplyTranslator(vertex, signatures),
        TokenCharge(),
        AccessLog(config),
    ]
