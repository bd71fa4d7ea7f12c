"""CORS: answer preflights without auth, and mark every reply for the allowed origins.

Cursor's Verify button runs in a browser context, so it sends `OPTIONS` before `GET /v1/models`.
"""

from __future__ import annotations

from mitmproxy import http

from .config import Config
from .errors import guarded

ALLOW_METHODS = "GET, POST, OPTIONS"
DEFAULT_ALLOW_HEADERS = "Authorization, Content-Type, X-Api-Key, X-Requested-With"


class Cors:
    def __init__(self, config: Config) -> None:
        self.config = config

    def _allowed_origin(self, origin: str | None) -> str | None:
        allowed = self.config.settings.cors_origins
        if "*" in allowed:
            return origin or "*"
        return origin if origin in allowed else None

    @guarded
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.request.method != "OPTIONS":
            return
        headers = {
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": flow.request.headers.get(
                "Access-Control-Request-Headers", DEFAULT_ALLOW_HEADERS
            ),
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        }
        if origin := self._allowed_origin(flow.request.headers.get("Origin")):
            headers["Access-Control-Allow-Origin"] = origin
        flow.response = http.Response.make(204, b"", headers)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        origin = flow.request.headers.get("Origin")
        if flow.request.method != "OPTIONS" and origin and (allowed := self._allowed_origin(origin)):
            flow.response.headers["Access-Control-Allow-Origin"] = allowed
            flow.response.headers["Vary"] = "Origin"
