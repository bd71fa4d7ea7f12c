"""The request log: one entry per generate request, updated while its stream runs.

Secrets are never stored: Authorization becomes ``Bearer <redacted>`` plus the
id of the issued token it carried (``token_id``), API keys become ``<redacted>``.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections import deque
from typing import Any

REDACTED = "<redacted>"
SECRET_HEADERS = {"x-goog-api-key", "cookie", "proxy-authorization"}
SECRET_QUERY = {"key", "access_token"}


def redact_headers(headers: Any) -> dict[str, str]:
    redacted = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            redacted[name] = f"{scheme} {REDACTED}".strip()
        else:
            redacted[name] = REDACTED if lower in SECRET_HEADERS else value
    return redacted


def redact_query(query: Any) -> dict[str, str]:
    return {name: REDACTED if name in SECRET_QUERY else value for name, value in query.items()}


class RequestLog:
    """Thread-safe; entries are dicts, copied out by ``entries()``."""

    def __init__(self, limit: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, **fields: Any) -> dict[str, Any]:
        entry = {"id": 0, **fields, "status": None, "chunks_sent": 0, "client_disconnected": False,
                 "finished": False}
        with self._lock:
            entry["id"] = next(self._ids)
            self._entries.append(entry)
        return entry

    def update(self, entry: dict[str, Any], **fields: Any) -> None:
        with self._lock:
            entry.update(fields)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._entries))

    def clear(self, limit: int | None = None) -> None:
        with self._lock:
            self._entries = deque(maxlen=limit or self._entries.maxlen)
