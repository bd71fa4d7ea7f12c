"""Client authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time.

Keys may be stored as `sha256:<hex>`, so the config file need not hold them in clear. With no keys
configured the proxy serves openly, which the config only allows on a loopback address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from mitmproxy import http

from . import paths
from .config import Config
from .errors import AuthenticationError, error_response, guarded
from .replay import REPLAY
from .settings import Settings

log = logging.getLogger("vertex_bridge")
OPEN_PATHS = frozenset({paths.HEALTH})


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_id(key: str) -> str:
    """A short, non-reversible id for logs: never the key itself."""
    return "k-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def presented_key(request: http.Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


class ClientAuth:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.digests: list[bytes] = []
        config.on_change(self._load_keys)

    def _load_keys(self, settings: Settings) -> None:
        self.digests = [
            bytes.fromhex(k[7:]) if k.startswith("sha256:") else key_digest(k) for k in settings.api_keys
        ]

    def running(self) -> None:
        if not self.digests:
            log.warning("No api_keys configured: serving without client authentication (loopback only).")

    def accepts(self, key: str | None) -> bool:
        if not self.digests:
            return True
        if key is None:
            return False
        digest = key_digest(key)
        # Compare against every key so timing does not reveal which (or whether any) matched.
        return sum(hmac.compare_digest(digest, d) for d in self.digests) > 0

    @guarded
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or paths.route(flow.request.path) in OPEN_PATHS or flow.metadata.get(REPLAY):
            return
        key = presented_key(flow.request)
        if not self.accepts(key):
            message = "Missing API key." if key is None else "Incorrect API key provided."
            flow.response = error_response(AuthenticationError(
                f"{message} Send it as 'Authorization: Bearer <key>' or 'x-api-key'."))
            return
        flow.metadata["vertex_bridge.key_id"] = key_id(key) if key else None
