"""The proxy's own endpoints: `/health`, `/v1/models`, and an OpenAI-shaped 404 for anything else."""

from __future__ import annotations

import time

from mitmproxy import http

from translators.models import served_ids

from . import paths
from .config import Config
from .errors import MethodNotAllowedError, NotFoundError, error_response, guarded, json_response
from .relay import UpstreamRelay
from .vertex import VertexUpstream

STARTED = int(time.time())


class LocalEndpoints:
    def __init__(self, config: Config, vertex: VertexUpstream, relay: UpstreamRelay) -> None:
        self.config = config
        self.vertex = vertex
        self.relay = relay
        self.handlers = {paths.HEALTH: self.health, paths.MODELS: self.models}

    @guarded
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response:
            return
        route = paths.route(flow.request.path)
        if route == paths.CHAT:
            return
        handler = self.handlers.get(route)
        if handler is None:
            flow.response = error_response(NotFoundError(
                f"Unknown path {flow.request.path.split('?')[0]!r}. This proxy serves "
                "/v1/chat/completions, /v1/models and /health."))
        elif flow.request.method not in ("GET", "HEAD"):
            flow.response = error_response(MethodNotAllowedError(
                f"{flow.request.method} is not allowed on {flow.request.path.split('?')[0]}; use GET."))
        else:
            flow.response = json_response(*handler())

    def health(self) -> tuple[int, dict]:
        ready = self.relay.port != 0 and self.vertex.loaded
        return (200 if ready else 503), {
            "status": "ok" if ready else "starting",
            "vertex": self.vertex.health(),
            "circuits": self.relay.upstreams.health(),
            "open_streams": self.relay.open_streams,
        }

    def models(self) -> tuple[int, dict]:
        settings = self.config.settings
        return 200, {
            "object": "list",
            "data": [
                {"id": model_id, "object": "model", "created": STARTED, "owned_by": "google"}
                for model_id in served_ids(settings.models, settings.aliases)
            ],
        }
