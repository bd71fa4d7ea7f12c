"""Speed-ups for a long-running proxy process.

`install()` — per-request work mitmproxy does only as a debugging aid, switched off:

When Python runs without `-O`, mitmproxy type-checks every field of every HTTP request and response it
builds (`MessageData.__post_init__`, under `if __debug__`). In a profile of the proxy under load that
check is the single hottest frame, about 7% of the event loop's time (docs/benchmarks.md). The values
come from mitmproxy's own parsers, so the check never fires here; skipping it is what `python -O`
would do, without `-O`'s cost of recompiling every module on each fresh install.
"""

from __future__ import annotations

import gc

from mitmproxy import http


def install() -> None:
    if "__post_init__" in vars(http.MessageData):
        http.MessageData.__post_init__ = lambda self: None  # type: ignore[method-assign]


class GcFreeze:
    """Once started, move everything loaded so far (mitmproxy, pydantic, google-auth …) out of the
    garbage collector's sight. Full collections otherwise walk all of it and pause the event loop
    for about 70 ms every few thousand requests — the 40–50 ms p99 tails in docs/benchmarks.md."""

    def running(self) -> None:
        gc.collect()
        gc.freeze()
