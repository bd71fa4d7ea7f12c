"""Speed-ups for a long-running proxy process.

`install()` changes two things mitmproxy does on every request, without changing what it does:

- When Python runs without `-O`, mitmproxy type-checks every field of every HTTP request and response
  it builds (`MessageData.__post_init__`, under `if __debug__`). In a profile of the proxy under load
  that check was the single hottest frame, about 7% of the event loop's time (docs/benchmarks.md). The
  values come from mitmproxy's own parsers, so the check never fires here; skipping it is what
  `python -O` would do, without `-O`'s cost of recompiling every module on each fresh install.
- mitmproxy delivers each event to every addon through a `safecall` context, a coroutine and two
  generators, even to addons without a handler for it: about 30 µs per addon per request on the
  benchmark machine, measured with 20 handler-less addons added. `trigger_event` is replaced by the same
  loop that first skips an addon with neither a handler nor nested addons. It applies to mitmproxy 12,
  whose `trigger_event` it mirrors; on other versions mitmproxy's own stays.
"""

from __future__ import annotations

import gc

from mitmproxy import addonmanager, exceptions, hooks, http
from mitmproxy.version import VERSION


MITMPROXY_TRIGGER_EVENT = addonmanager.AddonManager.trigger_event  # mitmproxy's own (for tests and comparison)


def install() -> None:
    if "__post_init__" in vars(http.MessageData):
        http.MessageData.__post_init__ = lambda self: None  # type: ignore[method-assign]
    manager = addonmanager.AddonManager
    if VERSION.split(".")[0] == "12" and manager.trigger_event is not trigger_event:
        manager.trigger_event = trigger_event  # type: ignore[method-assign]


async def trigger_event(self: addonmanager.AddonManager, event: hooks.Hook) -> None:
    """mitmproxy 12's `AddonManager.trigger_event`, skipping addons that have nothing to run."""
    name = event.name
    for addon in self.chain:
        if not getattr(addon, name, None) and not hasattr(addon, "addons"):
            continue
        try:
            with addonmanager.safecall():
                await self.invoke_addon(addon, event)
        except exceptions.AddonHalt:
            return


class GcFreeze:
    """Once started, move everything loaded so far (mitmproxy, pydantic, google-auth …) out of the
    garbage collector's sight. Full collections otherwise walk all of it and pause the event loop
    for about 70 ms every few thousand requests — the 40–50 ms p99 tails in docs/benchmarks.md."""

    def running(self) -> None:
        gc.collect()
        gc.freeze()
