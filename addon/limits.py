"""Request size limits.

The body is checked once mitmproxy has read it, so the client (which is still uploading when the
headers arrive) always gets to read the JSON 413. mitmproxy's own `body_size_limit`, set to twice the
limit, stops anything larger before it is buffered.
"""

from __future__ import annotations

from mitmproxy import ctx, http

from .config import Config
from .errors import PayloadTooLargeError, error_response, guarded
from .settings import Settings


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


class BodyLimit:
    def __init__(self, config: Config) -> None:
        self.config = config
        config.on_change(self._apply)

    def _apply(self, settings: Settings) -> None:
        ctx.options.update(body_size_limit=str(2 * settings.max_body_size))

    @guarded
    def request(self, flow: http.HTTPFlow) -> None:
        limit = self.config.settings.max_body_size
        size = len(flow.request.raw_content or b"")
        if size > limit:
            flow.response = error_response(PayloadTooLargeError(
                f"Request body is {_human(size)}; the limit is {_human(limit)} (setting max_body_size)."))
