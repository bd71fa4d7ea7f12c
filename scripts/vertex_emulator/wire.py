"""Byte-level formatting of Vertex bodies: pretty JSON, SSE events, JSON-array streams.

Unary bodies are pretty-printed with a 2-space indent; SSE payloads are one line
with ``": "`` after keys and a bare ``,`` between members, as in the captures.
``<`` and ``>`` are escaped as ``\\u003c``/``\\u003e`` like Google's front end does.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

JSON_TYPE = "application/json; charset=UTF-8"
SSE_TYPE = "text/event-stream"
SSE_HEADERS = {"Content-Type": SSE_TYPE, "Content-Disposition": "attachment",
               "Vary": "Origin, X-Origin, Referer"}
JSON_HEADERS = {"Content-Type": JSON_TYPE, "Vary": "Origin, X-Origin, Referer"}
EVENT_END = b"\r\n\r\n"
ARRAY_SEPARATOR = b"\n,\r\n"
ARRAY_CLOSE = b"\n]"


def _escape(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def pretty(obj: Any) -> bytes:
    return _escape(json.dumps(obj, indent=2, ensure_ascii=False)).encode()


def one_line(obj: Any) -> bytes:
    return _escape(json.dumps(obj, ensure_ascii=False, separators=(",", ": "))).encode()


def unary_body(obj: Any) -> bytes:
    return pretty(obj) + b"\n"


def sse_event(obj: Any) -> bytes:
    return b"data: " + one_line(obj) + EVENT_END


def array_element(obj: Any, index: int) -> bytes:
    """One element of a streamed JSON array (the opening ``[`` comes with the first)."""
    return (b"[" if index == 0 else ARRAY_SEPARATOR) + pretty(obj)


def array_wrapped(obj: Any) -> bytes:
    """An error body as streamGenerateContent returns it: ``[{...}\\n]``."""
    return b"[" + pretty(obj) + b"\n]\n"


def create_time() -> str:
    """RFC 3339 UTC timestamp with microseconds, e.g. ``2025-12-31T15:46:13.983958Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def response_id() -> str:
    """A 23-character URL-safe id like ``RUVVaZaHPI3UhMIPlvb66AY``."""
    return secrets.token_urlsafe(17)
