"""Per-request state carried beside each flow from the request hook to the response hooks."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from mitmproxy import http

from translators.context import ModelTarget, ResponseContext
from translators.openai_types import ChatRequest
from translators.request import VertexCall
from translators.stream import StreamTranslator


@dataclass
class Exchange:
    target: ModelTarget
    call: VertexCall
    reply: ResponseContext
    request: ChatRequest  # the client's request, parsed (fallback providers get it re-encoded)
    sent_at: float = 0.0  # when the translated request was ready to go upstream
    first_byte_at: float = 0.0  # upstream response headers
    done_at: float = 0.0
    proxy_seconds: float = 0.0  # time spent in our hooks, not waiting for upstream
    upstream: str = "vertex"
    retries: int = 0
    token: str | None = field(default=None, repr=False)  # the last attempt's Google token (to refresh that one)
    usage: dict | None = None
    finish_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    stream: StreamTranslator | None = None  # set when the reply is streamed and translated
    passthrough: bool = False  # the reply is already OpenAI-shaped (a fallback, or the relay's own error)
    # The client's request as it arrived, before the router rewrote the flow (addon.flowview shows it).
    client_headers: http.Headers | None = field(default=None, repr=False)  # holds the client's key
    client_body: bytes = field(default=b"", repr=False)
    reply_text: str = field(default="", repr=False)  # the answer of a unary reply (streams: stream.text)
    span: Any = field(default=None, repr=False)  # the request's OpenTelemetry span (addon.tracing)

    def spend(self, since: float) -> float:
        now = time.perf_counter()
        self.proxy_seconds += now - since
        return now


# Beside the flow rather than in `flow.metadata`, which must stay serializable: mitmweb's File → Save,
# `save_stream_file` and `mitmdump -w` write the metadata into the flow file.
_exchanges: weakref.WeakKeyDictionary[http.HTTPFlow, Exchange] = weakref.WeakKeyDictionary()


def attach(flow: http.HTTPFlow, exchange: Exchange) -> None:
    _exchanges[flow] = exchange


def exchange_of(flow: http.HTTPFlow) -> Exchange | None:
    return _exchanges.get(flow)
