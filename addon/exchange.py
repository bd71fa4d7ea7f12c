"""Per-request state carried in `flow.metadata` from the request hook to the response hooks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mitmproxy import http

from translators.context import ModelTarget, ResponseContext
from translators.openai_types import ChatRequest
from translators.request import VertexCall
from translators.stream import StreamTranslator

KEY = "vertex_bridge"


@dataclass
class Exchange:
    target: ModelTarget
    call: VertexCall
    reply: ResponseContext
    request: ChatRequest  # the client's request, parsed (fallback providers get it re-encoded)
    sent_at: float = 0.0  # when the translated request was handed to mitmproxy
    first_byte_at: float = 0.0  # upstream response headers
    done_at: float = 0.0
    proxy_seconds: float = 0.0  # time spent in our hooks, not waiting for upstream
    upstream: str = "vertex"
    retries: int = 0
    token: str | None = None  # the Google token of the last attempt (to refresh exactly that one)
    usage: dict | None = None
    finish_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    stream: StreamTranslator | None = None  # set when the reply is streamed and translated
    passthrough: bool = False  # the reply is already OpenAI-shaped (a fallback, or the relay's own error)

    def spend(self, since: float) -> float:
        now = time.perf_counter()
        self.proxy_seconds += now - since
        return now


def exchange_of(flow: http.HTTPFlow) -> Exchange | None:
    return flow.metadata.get(KEY)
