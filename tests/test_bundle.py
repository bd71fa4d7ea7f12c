"""The bridge's addons registered as one (addon.bundle), and the dispatch speed-up (addon.speedups).

Both must keep mitmproxy's semantics: every part sees every event it handles, in order; a part that
raises is logged and the others still run; a bad setting still stops startup.
"""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons, tflow

from addon import bookkeeping, speedups
from addon.bundle import Bridge


class Recorder:
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def request(self, flow) -> None:
        self.calls.append(f"{self.name}.request")


class AsyncRecorder(Recorder):
    async def request(self, flow) -> None:
        await asyncio.sleep(0)
        self.calls.append(f"{self.name}.request")


class Broken:
    def request(self, flow) -> None:
        raise RuntimeError("boom")

    def response(self, flow) -> None:
        raise RuntimeError("boom")


class BadSetting:
    def configure(self, updated) -> None:
        raise exceptions.OptionsError("vertex_timeout must be positive")


class OnlyResponses:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def response(self, flow) -> None:
        self.calls.append("response")


def test_parts_run_in_order_and_the_bridge_hides_them_from_mitmproxy():
    calls: list[str] = []
    bridge = Bridge([Recorder("a", calls), OnlyResponses(calls), AsyncRecorder("b", calls), Recorder("c", calls)])
    assert not hasattr(bridge, "addons"), "mitmproxy would walk the parts itself and call them twice"
    assert inspect.iscoroutinefunction(bridge.request), "an async part makes the hook async"
    assert not inspect.iscoroutinefunction(bridge.response)
    assert not hasattr(bridge, "responseheaders"), "no part handles it: mitmproxy skips the bridge"
    with taddons.context(bridge) as tctx:
        flow = tflow.tflow(resp=True)
        asyncio.run(tctx.master.addons.handle_lifecycle(_request_hook(flow)))
        bridge.response(flow)
    assert calls == ["a.request", "b.request", "c.request", "response"]


def test_a_part_that_raises_is_logged_and_the_next_still_runs(caplog):
    calls: list[str] = []
    bridge = Bridge([Broken(), Recorder("after", calls), OnlyResponses(calls)])
    with caplog.at_level(logging.ERROR, logger="vertex_bridge"):
        bridge.request(tflow.tflow())
        bridge.response(tflow.tflow(resp=True))
    assert calls == ["after.request", "response"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["vertex-bridge: error in Broken.request",
                                                "vertex-bridge: error in Broken.response"]
    assert all(r.exc_info and "boom" in str(r.exc_info[1]) for r in errors), "with the traceback, in the log only"


def test_a_bad_setting_still_stops_startup():
    with pytest.raises(exceptions.OptionsError, match="vertex_timeout"):
        Bridge([BadSetting()]).configure({"vertex_timeout"})


def test_bookkeeping_runs_after_the_reply_while_the_next_request_waits_or_soon_after():
    async def main() -> list[str]:
        order: list[str] = []
        bookkeeping.after_reply(order.append, "log line 1")
        order.append("reply 1 written")
        await asyncio.sleep(0)
        order.append("request 2 translated")
        bookkeeping.while_waiting()
        await asyncio.sleep(0)  # request 2 is upstream: the loop is free
        bookkeeping.after_reply(order.append, "log line 2")
        await asyncio.sleep(bookkeeping.LATEST * 3)  # no request waits: it runs soon anyway
        bookkeeping.after_reply(order.append, "log line 3")
        bookkeeping.flush()  # /metrics and shutdown do not wait
        return order

    assert asyncio.run(main()) == ["reply 1 written", "request 2 translated", "log line 1", "log line 2",
                                   "log line 3"]


# -- speedups: mitmproxy's trigger_event without the walk over idle addons ----------------------------

class Nested:
    """An addon with children (like a script): must still be walked even without a handler of its own."""

    def __init__(self, child) -> None:
        self.addons = [child]


class Halting:
    def request(self, flow) -> None:
        raise exceptions.AddonHalt()


def _request_hook(flow):
    from mitmproxy.proxy.layers.http import HttpRequestHook

    return HttpRequestHook(flow)


@pytest.mark.parametrize("patched", [False, True])
def test_trigger_event_delivers_exactly_what_mitmproxy_does(patched, monkeypatch, caplog):
    from mitmproxy import addonmanager

    monkeypatch.setattr(addonmanager.AddonManager, "trigger_event", speedups.MITMPROXY_TRIGGER_EVENT)
    if patched:
        speedups.install()
        assert addonmanager.AddonManager.trigger_event is speedups.trigger_event
    calls: list[str] = []
    with taddons.context() as tctx:
        tctx.master.addons.add(object(), Recorder("a", calls), Nested(Recorder("child", calls)), Broken(),
                               AsyncRecorder("b", calls), Halting(), Recorder("never", calls))
        with caplog.at_level(logging.ERROR):
            asyncio.run(tctx.master.addons.trigger_event(_request_hook(tflow.tflow())))
    assert calls == ["a.request", "child.request", "b.request"], "in order, children included, up to AddonHalt"
    assert "Addon error: boom" in caplog.text, "a failing addon is logged as mitmproxy logs it"
