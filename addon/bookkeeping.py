"""Work the client need not wait for — the access log line, the metrics — run when the proxy would wait anyway.

A reply's bookkeeping is queued by the `response` hooks (`after_reply`) and run when the next request
starts waiting for its upstream (`while_waiting`), which is idle time for this process; at the latest
`LATEST` seconds after it was queued; and before `/metrics` is read or the proxy stops (`flush`). The
reply itself never waits for it, and neither does the next request's translation.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

log = logging.getLogger("vertex_bridge")
LATEST = 0.01  # seconds


class Bookkeeping:
    """The queue of one event loop (a proxy process has one; tests may run several in threads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, callback: Callable[..., None], *args: Any) -> None:
        self._pending.append((callback, args))
        if self._timer is None:
            self._timer = self.loop.call_later(LATEST, self.flush)

    def while_waiting(self) -> None:
        """Called just before a request awaits its upstream: the queue runs once that request is sent."""
        if self._pending:
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        for callback, args in pending:
            try:
                callback(*args)
            except Exception:
                log.exception("vertex-bridge: error in %s", getattr(callback, "__qualname__", "bookkeeping"))


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Bookkeeping] = weakref.WeakKeyDictionary()


def bookkeeping() -> Bookkeeping:
    """The running event loop's queue."""
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = Bookkeeping(loop)
    return queue


def after_reply(callback: Callable[..., None], *args: Any) -> None:
    """Queue `callback(*args)`: it runs after the reply is written, when the proxy would wait anyway."""
    bookkeeping().add(callback, *args)


def while_waiting() -> None:
    bookkeeping().while_waiting()


def flush() -> None:
    """Run what is queued now (before `/metrics` is read, and when the proxy stops)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop, so nothing can have been queued on it
    bookkeeping().flush()
