"""Vertex `streamGenerateContent` bytes -> OpenAI `chat.completion.chunk` SSE bytes: a state machine.

`StreamTranslator.feed(bytes) -> bytes` takes the upstream body in any split and returns the OpenAI
events for every Vertex event completed so far; `finish()` is called when the upstream body ends.

Output, per clients.md §2.2: every chunk repeats one id, `created`, the requested model and
`system_fingerprint: null`. A choice's first delta carries `role: "assistant"` once (`content: ""` for a
text answer; merged into the first tool-call delta otherwise). A tool call is a start delta (`index`,
`id`, `type`, full `name`, `arguments: ""`) then one delta with the whole arguments. Exactly one chunk
per choice has a finish_reason, with `delta: {}`, after all content. With `include_usage` every chunk
carries `"usage": null` and a last `choices: []` chunk carries the usage (never otherwise: older Cline
reads `choices[0]` unguarded). The stream ends with `data: [DONE]`.

Old Vertex repeats `finishReason: STOP` on every chunk and the Gemini API sends cumulative usage on
every chunk, so the finish chunk waits for the end of the body and the last full usage wins.

A stream that cannot be completed must not look complete: a Vertex error event, an unreadable event,
a body that ends without a finishReason, or `fail()` (reset, idle timeout) give one OpenAI error event
`data: {"error": {…}}` (openai-python raises `APIError` on it) and then nothing: no finish chunk and
no `[DONE]`.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from .context import ResponseContext
from .errors import openai_error
from .response import (
    MALFORMED_CALL,
    THINK_CLOSE,
    THINK_OPEN,
    blocked_prompt_text,
    filtered_text,
    finish_reason,
    has_token_counts,
    malformed_call_text,
    openai_logprobs,
    openai_usage,
    part_text,
    remember_text_signature,
    tool_call,
    zero_usage,
)
from .signatures import SignatureStore
from .sse import Comment, SseReader, Unparsed
from .upstream_errors import stream_error_event

DONE = b"data: [DONE]\n\n"
TRANSCRIPT_LIMIT = 64 * 1024
OPEN, FINISHED, FAILED = "open", "finished", "failed"
INCOMPLETE = "Vertex AI ended the stream without a finish reason: the reply is incomplete."


def _compact(value: Any) -> bytes:
    return pydantic_core.to_json(value)  # compact UTF-8, as json.dumps(separators=(",", ":")) in a sixth of the time


def sse_comment(text: str = "ping") -> bytes:
    """An SSE comment (`: ping`): a keep-alive that every client's decoder skips."""
    return b": " + " ".join(text.splitlines()).encode() + b"\n\n"


def error_event(message: str, code: str | None = "upstream_error", type: str = "server_error") -> bytes:
    return b"data: " + _compact(openai_error(message, type, code)) + b"\n\n"


class _Choice:
    """What one choice has sent so far."""

    __slots__ = ("index", "started", "thinking", "calls", "answer", "thoughts", "text_signature",
                 "final", "logprobs")

    def __init__(self, index: int) -> None:
        self.index = index
        self.started = False  # role delta sent
        self.thinking = False  # a `<think>` block is open (think_tags)
        self.calls = 0  # tool calls sent; the next call's index
        self.answer: list[str] = []  # answer text pieces, for the text-part signature key
        self.thoughts: list[str] = []  # thought pieces sent inside `<think>` tags, for the same key
        self.text_signature: str | None = None
        self.final: dict | None = None  # the last candidate that carried a finishReason
        self.logprobs: dict | None = None  # for the next content delta


class StreamTranslator:
    def __init__(self, ctx: ResponseContext, signatures: SignatureStore | None = None) -> None:
        self.ctx = ctx
        self.signatures = signatures
        head = {"id": ctx.completion_id, "object": "chat.completion.chunk", "created": ctx.created,
                "model": ctx.requested_model, "system_fingerprint": None}
        self._prefix = b"data: " + _compact(head)[:-1] + b',"choices":'  # + choices + suffix
        self._suffix = b',"usage":null}\n\n' if ctx.include_usage else b"}\n\n"
        self._reader = SseReader()
        self._choices: dict[int, _Choice] = {}
        self._usage: dict | None = None
        self._blocked: dict | None = None
        self._state = OPEN
        self._finish_reason: str | None = None
        self._chunks = 0
        self._transcript: list[str] = []
        self._transcript_size = 0

    # -- public API ------------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """OpenAI SSE bytes for every Vertex event completed by `data` (b"" if none)."""
        if self._state != OPEN:
            return b""
        out: list[bytes] = []
        self._events(self._reader.feed(data), out)
        return b"".join(out)

    def finish(self) -> bytes:
        """The upstream body ended: its last event, the finish chunk(s), usage, `[DONE]`."""
        if self._state != OPEN:
            return b""
        out: list[bytes] = []
        self._events(self._reader.close(), out)
        if self._state != OPEN:
            return b"".join(out)
        if not self._blocked and not (self._choices and all(c.final for c in self._choices.values())):
            out.append(self._fail(INCOMPLETE, "upstream_incomplete"))
            return b"".join(out)
        for index in sorted(self._choices) or [0]:
            self._close_choice(self._choice(index), out)
        if self.ctx.include_usage:
            usage = openai_usage(self._usage) or zero_usage()
            out.append(self._prefix + b'[],"usage":' + _compact(usage) + b"}\n\n")
            self._chunks += 1
        out.append(DONE)
        self._state = FINISHED
        return b"".join(out)

    def fail(self, message: str, code: str = "upstream_error") -> bytes:
        """An error event that ends the stream (upstream reset, idle timeout); b"" once ended."""
        return self._fail(message, code) if self._state == OPEN else b""

    @property
    def usage(self) -> dict | None:
        """The OpenAI usage from the last full Vertex count seen, or None."""
        return openai_usage(self._usage)

    @property
    def finish_reason(self) -> str | None:
        """The finish_reason sent for choice 0 (None unless the stream finished normally)."""
        return self._finish_reason

    @property
    def failed(self) -> bool:
        return self._state == FAILED

    @property
    def finished(self) -> bool:
        """Nothing more will be sent: `[DONE]` or an error event went out."""
        return self._state != OPEN

    @property
    def chunks_out(self) -> int:
        """`data:` events sent, `[DONE]` not counted."""
        return self._chunks

    @property
    def text(self) -> str:
        """The answer as sent (tool calls as `[tool_call name args]`), at most 64 KB, for logs."""
        return "".join(self._transcript)[:TRANSCRIPT_LIMIT]

    # -- Vertex events ---------------------------------------------------------------------------

    def _events(self, items: list[Any], out: list[bytes]) -> None:
        for item in items:
            if self._state != OPEN:
                return
            if isinstance(item, Comment):
                out.append(sse_comment(item or "ping"))
            elif isinstance(item, Unparsed):
                message = f"Vertex AI sent an unreadable stream event: {item[:120]}"
                out.append(self._fail(message, "bad_upstream_response"))
            elif isinstance(item, list):
                self._events(item, out)
            elif isinstance(item, dict):
                self._event(item, out)

    def _event(self, event: dict, out: list[bytes]) -> None:
        error = event.get("error")
        if isinstance(error, dict):
            self._state = FAILED
            self._chunks += 1
            code = error.get("code")
            out.append(stream_error_event(code if isinstance(code, int) else 500, error))
            return
        for candidate in event.get("candidates") or ():
            self._candidate(candidate, out)
        usage = event.get("usageMetadata")
        if has_token_counts(usage):
            self._usage = usage  # the last full count wins: Gemini API counts are cumulative
        feedback = event.get("promptFeedback")
        if feedback and feedback.get("blockReason"):
            self._blocked = feedback

    def _candidate(self, candidate: dict, out: list[bytes]) -> None:
        st = self._choice(candidate.get("index", 0))
        if candidate.get("logprobsResult"):
            st.logprobs = openai_logprobs(candidate["logprobsResult"])
        for part in (candidate.get("content") or {}).get("parts") or ():
            if "functionCall" in part:
                self._call(st, part, out)
                continue
            st.text_signature = part.get("thoughtSignature") or st.text_signature
            text = part_text(part)
            if text and part.get("thought"):
                self._thought(st, text, out)
            elif text:
                self._text(st, text, out)
        if candidate.get("finishReason"):
            st.final = candidate

    # -- OpenAI deltas ---------------------------------------------------------------------------

    def _choice(self, index: int) -> _Choice:
        st = self._choices.get(index)
        if st is None:
            st = self._choices[index] = _Choice(index)
        return st

    def _emit(self, st: _Choice, delta: dict, out: list[bytes], finish: str | None = None,
              logprobs: dict | None = None) -> None:
        choice = {"index": st.index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        out.append(self._prefix + _compact([choice]) + self._suffix)
        self._chunks += 1

    def _start(self, st: _Choice, out: list[bytes]) -> None:
        if not st.started:
            st.started = True
            self._emit(st, {"role": "assistant", "content": ""}, out)

    def _text(self, st: _Choice, text: str, out: list[bytes]) -> None:
        self._start(st, out)
        st.answer.append(text)
        self._log(text)
        if st.thinking:
            st.thinking = False
            text = THINK_CLOSE + text
        self._emit(st, {"content": text}, out, logprobs=st.logprobs)
        st.logprobs = None

    def _thought(self, st: _Choice, text: str, out: list[bytes]) -> None:
        mode = self.ctx.reasoning_output
        if mode == "hidden":
            return
        self._start(st, out)
        if mode == "reasoning_content":
            self._emit(st, {"reasoning_content": text}, out)
            return
        st.thoughts.append(text)
        if not st.thinking:
            st.thinking = True
            text = THINK_OPEN + text
        self._emit(st, {"content": text}, out)

    def _close_think(self, st: _Choice, out: list[bytes]) -> None:
        if st.thinking:
            st.thinking = False
            self._emit(st, {"content": THINK_CLOSE}, out)

    def _call(self, st: _Choice, part: dict, out: list[bytes]) -> None:
        call = tool_call(part["functionCall"], self.ctx, part.get("thoughtSignature"), self.signatures)
        name, arguments = call["function"]["name"], call["function"]["arguments"]
        self._close_think(st, out)
        index, st.calls = st.calls, st.calls + 1
        start = {"index": index, "id": call["id"], "type": "function",
                 "function": {"name": name, "arguments": ""}}
        delta: dict[str, Any] = {"tool_calls": [start]}
        if not st.started:
            st.started = True
            delta = {"role": "assistant", "content": None, "tool_calls": [start]}
        self._emit(st, delta, out)
        self._emit(st, {"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}, out)
        self._log(f"\n[tool_call {name} {arguments}]\n")

    def _close_choice(self, st: _Choice, out: list[bytes]) -> None:
        """The explanation owed (blocked, filtered, malformed call), then the one finish chunk."""
        remember_text_signature(st.text_signature, self.signatures, "".join(st.answer),
                                "".join(st.thoughts))
        final = st.final or {}
        reason = final.get("finishReason")
        fr = finish_reason(reason, st.calls > 0)
        notice = None
        if self._blocked and not st.answer and not st.calls:
            fr, notice = "content_filter", blocked_prompt_text(self._blocked)
        elif fr == "content_filter" and not st.answer and not st.calls:
            notice = filtered_text(final)
        elif reason in MALFORMED_CALL and not st.calls:
            self._text(st, ("\n\n" if st.answer else "") + malformed_call_text(final), out)
        self._close_think(st, out)
        self._start(st, out)
        if notice:
            self._log(notice)
            self._emit(st, {"content": notice, "refusal": notice}, out)
        self._emit(st, {}, out, fr)
        if st.index == 0:
            self._finish_reason = fr

    def _fail(self, message: str, code: str) -> bytes:
        self._state = FAILED
        self._chunks += 1
        return error_event(message, code)

    def _log(self, text: str) -> None:
        if self._transcript_size < TRANSCRIPT_LIMIT:
            self._transcript.append(text)
            self._transcript_size += len(text)


def translate_stream_body(
    body: bytes, ctx: ResponseContext, signatures: SignatureStore | None = None
) -> bytes:
    """A whole Vertex stream body (e.g. buffered for a retry) -> the whole OpenAI SSE body."""
    translator = StreamTranslator(ctx, signatures)
    return translator.feed(body) + translator.finish()
