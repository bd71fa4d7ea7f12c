"""One structured line per request: what was asked, where it went, how long it took.

Never logs keys, tokens or prompt text (unless `vertex_log_bodies` is on, and even then no secrets).
"""

from __future__ import annotations

import json
import logging

from mitmproxy import http

from . import bookkeeping
from .config import Config
from .exchange import Exchange, exchange_of

log = logging.getLogger("vertex_bridge.access")


def _ms(start: float, end: float) -> float | None:
    return round((end - start) * 1000, 2) if start and end else None


PREVIEW = 300  # characters of prompt and reply text logged with log_bodies


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW else text[:PREVIEW] + "…"


def prompt_preview(exchange: Exchange) -> str:
    """The last message's text (what the user just asked), never headers or keys."""
    content = exchange.request.messages[-1].content
    if isinstance(content, list):
        content = " ".join(getattr(part, "text", None) or "" for part in content)
    return _clip(content or "")


def reply_preview(exchange: Exchange) -> str:
    return _clip(exchange.stream.text if exchange.stream is not None else exchange.reply_text)


def _text_value(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) and (" " in value or not value) else str(value)


class AccessLog:
    def __init__(self, config: Config) -> None:
        self.config = config

    def done(self) -> None:
        bookkeeping.flush()  # the last lines, before the process exits

    def response(self, flow: http.HTTPFlow) -> None:
        bookkeeping.after_reply(self._log, flow, flow.response.status_code if flow.response else None, None)

    def error(self, flow: http.HTTPFlow) -> None:
        self._log(flow, flow.response.status_code if flow.response else None, flow.error.msg if flow.error else None)

    def _log(self, flow: http.HTTPFlow, status: int | None, error: str | None) -> None:
        exchange = exchange_of(flow)
        record = {
            "method": flow.request.method,
            "path": flow.metadata.get("vertex_bridge.client_path", flow.request.path.split("?")[0]),
            "status": status,
            "key": flow.metadata.get("vertex_bridge.key_id"),
            "total_ms": round((flow.response.timestamp_end or 0) * 1000 - flow.request.timestamp_start * 1000, 2)
            if flow.response and flow.response.timestamp_end else None,
        }
        if exchange is not None:
            usage = exchange.usage or {}
            record.update(
                model=exchange.target.requested_model,
                upstream_model=exchange.target.vertex_model,
                upstream=exchange.upstream,
                stream=exchange.call.stream,
                upstream_ms=_ms(exchange.sent_at, exchange.done_at or exchange.first_byte_at),
                overhead_ms=round(exchange.proxy_seconds * 1000, 3),
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                finish_reason=exchange.finish_reason,
                retries=exchange.retries or None,
            )
        if error:
            record["error"] = error
        if exchange is not None and self.config.settings.log_bodies:
            record.update(prompt=prompt_preview(exchange), reply=reply_preview(exchange))
        record = {k: v for k, v in record.items() if v is not None}
        if self.config.settings.log_format == "json":
            log.info(json.dumps(record))
        else:
            log.info(" ".join(f"{k}={_text_value(v)}" for k, v in record.items()))
