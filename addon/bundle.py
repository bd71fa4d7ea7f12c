"""vertex-bridge's addons registered with mitmproxy as one.

mitmproxy delivers every event to every addon in turn, and each delivery has a fixed cost (a
`safecall` context, a generator walking nested addons, a `getattr` per hook, and an `update` event
after each flow event). With twenty small addons that walk was the largest share of the proxy's
own time per request (docs/benchmarks.md). `Bridge` keeps the addons as they are — one class per
concern, each hook a plain mitmproxy hook — and registers a single addon whose hooks call only the
parts that implement them, in order.

Like mitmproxy, a part that raises is logged and the next part still runs; `OptionsError` (a bad
setting) and `AddonHalt` go through to mitmproxy as they would unbundled.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

from mitmproxy import exceptions, hooks

log = logging.getLogger("vertex_bridge")
LIFECYCLE = ("load", "configure", "running", "done")
PASSED_ON = (exceptions.OptionsError, exceptions.AddonHalt)


def _logged(func: Callable[..., Any]) -> None:
    log.exception("vertex-bridge: error in %s", getattr(func, "__qualname__", func))


# Two loops rather than one with a context manager: these run for every event of every request.
def _call_each(name: str, funcs: tuple[Callable[..., Any], ...]) -> Callable[..., None]:
    def hook(*args: Any) -> None:
        for func in funcs:
            try:
                func(*args)
            except PASSED_ON:
                raise
            except Exception:
                _logged(func)
    hook.__name__ = name
    return hook


def _await_each(name: str, funcs: tuple[Callable[..., Any], ...]) -> Callable[..., Any]:
    async def hook(*args: Any) -> None:
        for func in funcs:
            try:
                if inspect.isawaitable(result := func(*args)):
                    await result
            except PASSED_ON:
                raise
            except Exception:
                _logged(func)
    hook.__name__ = name
    return hook


class Bridge:
    """One mitmproxy addon standing for `parts`, which keep their order.

    It has no `addons` attribute on purpose: mitmproxy would then walk the parts itself.
    """

    def __init__(self, parts: Iterable[Any]) -> None:
        self.parts = tuple(parts)
        for name in (*LIFECYCLE, *hooks.all_hooks):
            funcs = tuple(f for part in self.parts if callable(f := getattr(part, name, None)))
            if not funcs:
                continue
            asynchronous = any(inspect.iscoroutinefunction(f) for f in funcs)
            if name in ("load", "configure") and asynchronous:
                raise TypeError(f"mitmproxy calls {name} synchronously; an async {name} hook cannot be bundled")
            if name == "load":  # errors while declaring options must stop startup, as they would unbundled
                setattr(self, name, _load_all(funcs))
            else:
                setattr(self, name, (_await_each if asynchronous else _call_each)(name, funcs))


def _load_all(funcs: tuple[Callable[..., Any], ...]) -> Callable[[Any], None]:
    def load(loader: Any) -> None:
        for func in funcs:
            func(loader)
    return load
