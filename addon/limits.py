"""Request size limits, checked on the headers before the body is read."""

from __future__ import annotations

from mitmproxy import ctx, http

from .config import Config
from .errors import PayloadTooLargeError, error_response
from .settings import Settings


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


class BodyLimit:
    def __init__(self, config: Config) -> None:
        self.config = config
        config.on_change(self._apply)

    def _apply(self, settings: Settings) -> None:
        # mitmproxy's own limit catches bodies without Content-Length (chunked uploads).
        ctx.options.update(body_size_limit=str(settings.max_body_size))

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        limit = self.config.settings.max_body_size
        length = flow.request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            flow.response = error_response(PayloadTooLargeError(
                f"Request body is {_human(int(length))}; the limit is {_human(limit)} "
                "(setting max_body_size)."))
