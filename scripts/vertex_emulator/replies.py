"""Scripted replies: what the emulator answers to the next generate request.

Build a reply with a class method, then adjust it with the chainable modifiers::

    Reply.text("hello there", chunks=3).paced(20).with_usage(cachedContentTokenCount=4)
    Reply.function_calls([("get_weather", {"city": "Paris"})])
    Reply.text("partial", chunks=4).error_after(2)          # mid-stream error event
    Reply.error(429)                                          # object body / [{...}] when streaming

``Reply.from_json`` reads the same description from a dict (``POST /_emulator/queue``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import error_body


@dataclass(frozen=True)
class Reply:
    kind: str
    parts: tuple[dict, ...] = ()
    chunks: int = 1
    finish_reason: str = "STOP"
    finish_message: str | None = None
    block_reason: str | None = None
    block_message: str | None = None
    status: int = 200
    body: Any = None  # error body, or the sample dict / list of events / raw bytes
    model: str | None = None  # only for requests to this model (fnmatch pattern)
    delay_ms: int | None = None  # None: the server's configured default
    chunk_interval_ms: int | None = None
    break_after: int | None = None  # stream chunks sent before the break
    break_mode: str = "error"  # "error": a data: {"error": …} event; "drop": abort the connection
    break_error: dict | None = None
    usage: dict = field(default_factory=dict)

    # --- builders -----------------------------------------------------------------
    @classmethod
    def echo(cls) -> Reply:
        """The default reply: echo the last user message."""
        return cls("echo")

    @classmethod
    def text(cls, text: str, *, chunks: int = 3) -> Reply:
        return cls("text", ({"text": text},), chunks=chunks)

    @classmethod
    def thinking(cls, thoughts: str | list[str], text: str, *, chunks: int = 2) -> Reply:
        """Thought parts (``"thought": true``, one stream chunk each), then the answer text."""
        thought_list = [thoughts] if isinstance(thoughts, str) else list(thoughts)
        parts = tuple({"text": t, "thought": True} for t in thought_list) + ({"text": text},)
        return cls("thinking", parts, chunks=chunks)

    @classmethod
    def function_calls(cls, calls: list[tuple[str, dict] | dict]) -> Reply:
        """One or parallel calls, given as ``(name, args)`` or ``{"name": …, "args": …}``."""
        normalized = [c if isinstance(c, dict) else {"name": c[0], "args": c[1]} for c in calls]
        parts = tuple({"functionCall": {"name": c["name"], "args": c.get("args") or {}}} for c in normalized)
        return cls("function_calls", parts)

    @classmethod
    def function_call(cls, name: str, args: dict | None = None) -> Reply:
        return cls.function_calls([(name, args or {})])

    @classmethod
    def sample(cls, body: dict | list | bytes | str) -> Reply:
        """A recorded body sent as is: a response dict, a list of stream events, or raw bytes."""
        return cls("sample", body=body.encode() if isinstance(body, str) else body)

    @classmethod
    def sample_file(cls, path: str | Path) -> Reply:
        """A file from vertex-samples/ (its ``#---`` header is stripped)."""
        data = Path(path).read_bytes()
        if b"#---\n" in data:
            data = data[data.index(b"#---\n") + 5:]
        return cls.sample(data)

    @classmethod
    def error(cls, code: int, message: str | None = None, *, status: str | None = None,
              details: list[dict] | None = None) -> Reply:
        return cls("error", status=code, body=error_body(code, message, status, details))

    @classmethod
    def blocked(cls, reason: str = "SAFETY", message: str | None = None) -> Reply:
        """Prompt blocked: ``promptFeedback.blockReason`` and no candidates."""
        return cls("blocked", block_reason=reason, block_message=message)

    # --- modifiers ----------------------------------------------------------------
    def _with(self, **changes: Any) -> Reply:
        return dataclasses.replace(self, **changes)

    def finish(self, reason: str, message: str | None = None) -> Reply:
        """Custom finishReason (MAX_TOKENS, SAFETY, MALFORMED_FUNCTION_CALL, …) and finishMessage."""
        return self._with(finish_reason=reason, finish_message=message)

    def error_after(self, chunks: int, code: int = 503, message: str | None = None,
                    status: str | None = None) -> Reply:
        """Send ``chunks`` stream chunks, then an error event, then close (unary: just the error)."""
        return self._with(break_after=chunks, break_mode="error", break_error=error_body(code, message, status))

    def drop_after(self, chunks: int) -> Reply:
        """Send ``chunks`` stream chunks, then abort the connection mid-body (unary: before any response)."""
        return self._with(break_after=chunks, break_mode="drop")

    def delayed(self, ms: int) -> Reply:
        """Wait before sending the response headers."""
        return self._with(delay_ms=ms)

    def paced(self, ms: int) -> Reply:
        """Wait between stream chunks."""
        return self._with(chunk_interval_ms=ms)

    def with_usage(self, **counts: int) -> Reply:
        """Override usageMetadata counts (e.g. cachedContentTokenCount, toolUsePromptTokenCount)."""
        return self._with(usage={**self.usage, **counts})

    def for_model(self, pattern: str) -> Reply:
        """Only answer requests whose model matches ``pattern`` (fnmatch)."""
        return self._with(model=pattern)

    # --- JSON form ----------------------------------------------------------------
    @classmethod
    def from_json(cls, spec: dict) -> Reply:
        """Build from ``{"kind": …, <builder args>, <modifier keys>}`` (see ``JSON_BUILDERS``)."""
        spec = dict(spec)
        kind = spec.pop("kind", "echo")
        if kind not in JSON_BUILDERS:
            raise ValueError(f"unknown reply kind {kind!r}; expected one of {sorted(JSON_BUILDERS)}")
        build, arg_names = JSON_BUILDERS[kind]
        reply = build(**{name: spec.pop(name) for name in arg_names if name in spec})
        for key in spec:
            if key not in JSON_MODIFIERS:
                raise ValueError(f"unknown reply field {key!r} for kind {kind!r}")
            reply = JSON_MODIFIERS[key](reply, spec)
        return reply


def _sample_from_json(body: Any = None, raw: str | None = None) -> Reply:
    return Reply.sample(raw if raw is not None else body)


def _error_from_json(code: int, message: str | None = None, status: str | None = None,
                     details: list | None = None) -> Reply:
    return Reply.error(code, message, status=status, details=details)


# kind -> (builder, argument names it takes from the JSON description)
JSON_BUILDERS = {
    "echo": (Reply.echo, ()),
    "text": (Reply.text, ("text", "chunks")),
    "thinking": (Reply.thinking, ("thoughts", "text", "chunks")),
    "function_calls": (Reply.function_calls, ("calls",)),
    "sample": (_sample_from_json, ("body", "raw")),
    "error": (_error_from_json, ("code", "message", "status", "details")),
    "blocked": (Reply.blocked, ("reason", "message")),
}

# modifier key -> how it changes the reply, given the whole description
JSON_MODIFIERS = {
    "finish_reason": lambda r, spec: r.finish(spec["finish_reason"], spec.get("finish_message")),
    "finish_message": lambda r, spec: r.finish(spec.get("finish_reason", r.finish_reason), spec["finish_message"]),
    "error_after": lambda r, spec: r.error_after(spec["error_after"], **spec.get("error", {})),
    "error": lambda r, spec: r,  # {"code", "message", "status"} of the error_after event
    "drop_after": lambda r, spec: r.drop_after(spec["drop_after"]),
    "delay_ms": lambda r, spec: r.delayed(spec["delay_ms"]),
    "chunk_interval_ms": lambda r, spec: r.paced(spec["chunk_interval_ms"]),
    "usage": lambda r, spec: r.with_usage(**spec["usage"]),
    "model": lambda r, spec: r.for_model(spec["model"]),
}


def reply_from_json_text(text: str | bytes) -> list[Reply]:
    """One description or a list of them."""
    data = json.loads(text)
    return [Reply.from_json(item) for item in (data if isinstance(data, list) else [data])]
