"""The queue of scripted replies, consumed one per generate request."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from fnmatch import fnmatchcase

from .replies import Reply


class ReplyScript:
    """Replies queued by tests, taken in order; a reply with ``model`` set waits for that model."""

    def __init__(self) -> None:
        self._replies: list[Reply] = []
        self._lock = threading.Lock()

    def push(self, replies: Iterable[Reply]) -> None:
        with self._lock:
            self._replies.extend(replies)

    def take(self, model: str) -> Reply | None:
        with self._lock:
            for index, reply in enumerate(self._replies):
                if reply.model is None or fnmatchcase(model, reply.model):
                    return self._replies.pop(index)
        return None

    def pending(self) -> list[Reply]:
        with self._lock:
            return list(self._replies)

    def clear(self) -> None:
        with self._lock:
            self._replies.clear()

    def __len__(self) -> int:
        return len(self._replies)
