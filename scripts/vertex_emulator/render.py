"""Turns a ``Reply`` into the response objects for one request.

A unary request gets one GenerateContentResponse; a stream gets one per chunk:
text split into the reply's chunk count, one chunk per thought, parallel
function calls together. Every chunk repeats modelVersion/createTime/responseId;
only the last carries finishReason and the full usageMetadata, earlier ones
``{"trafficType": "ON_DEMAND"}`` (Vertex streaming, vertex-wire.md §3.1).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from .replies import Reply
from .signatures import SignatureBook, enforces_signatures, signs_function_calls
from .usage import prompt_tokens, usage_metadata
from .validation import as_list, get
from .wire import create_time, response_id

ECHO_PREFIX = "[vertex-emulator]"
ECHO_THOUGHT = "**Echoing the user**\n\nThe user wants their own words back, so I will repeat them."
TRAFFIC = {"trafficType": "ON_DEMAND"}
_SIGNATURE_IN_BYTES = re.compile(rb'"thoughtSignature":\s*"([^"]+)"')
_SSE_EVENT = re.compile(rb".*?(?:\r\n\r\n|\n\n|\r\r)|.+\Z", re.S)


@dataclass
class Plan:
    """What to send: ``events`` are response dicts (or pre-encoded bytes) in order."""

    status: int
    events: list[Any]
    reply: Reply


def render(reply: Reply, *, model: str, body: dict, stream: bool, sse: bool,
           book: SignatureBook, echo_chunks: int = 3) -> Plan:
    if reply.kind == "error":
        return Plan(reply.status, [reply.body], reply)
    meta = {"modelVersion": model, "createTime": create_time(), "responseId": response_id()}
    if reply.kind == "blocked":
        feedback = {"blockReason": reply.block_reason}
        if reply.block_message:
            feedback["blockReasonMessage"] = reply.block_message
        return Plan(200, [{"promptFeedback": feedback, "usageMetadata": dict(TRAFFIC), **meta}], reply)
    if reply.kind == "sample":
        return Plan(200, _sample_events(reply.body, stream=stream, sse=sse, book=book), reply)
    candidates = _echo_candidates(body, echo_chunks) if reply.kind == "echo" else [(reply.parts, reply.chunks)]
    candidates = [(_signed(parts, model, book), chunks) for parts, chunks in candidates]
    usage = usage_metadata(prompt_tokens(body), [parts for parts, _ in candidates], reply.usage)
    if not stream:
        return Plan(200, [_unary(candidates, reply, usage, meta)], reply)
    return Plan(200, _stream(candidates, reply, usage, meta), reply)


# --- default reply -------------------------------------------------------------------
def echo_text(body: dict) -> str:
    """What the default reply says about the last turn of the request."""
    contents = as_list(get(body, "contents"))
    parts = as_list(get(contents[-1], "parts")) if contents else []
    responses = [get(p, "function_response") for p in parts if get(p, "function_response") is not None]
    if responses:
        results = "; ".join(f"{get(r, 'name')} -> {json.dumps(get(r, 'response', {}))}" for r in responses)
        return f"{ECHO_PREFIX} Got function result(s): {results}"
    texts = [get(p, "text") for p in parts if get(p, "text") is not None and not get(p, "thought")]
    if texts:
        return f"{ECHO_PREFIX} You said: {' '.join(texts)}"
    return f"{ECHO_PREFIX} You sent {len(parts)} part(s) without text."


def _echo_candidates(body: dict, chunks: int) -> list[tuple[tuple[dict, ...], int]]:
    config = get(body, "generation_config", {})
    count = max(1, int(get(config, "candidate_count", 1)))
    thoughts = get(get(config, "thinking_config", {}), "include_thoughts", False)
    text = echo_text(body)
    candidates = []
    for index in range(count):
        parts = ({"text": ECHO_THOUGHT, "thought": True},) if thoughts else ()
        suffix = f" (candidate {index + 1})" if index else ""
        candidates.append((parts + ({"text": text + suffix},), chunks))
    return candidates


# --- thought signatures --------------------------------------------------------------
def _signed(parts: tuple[dict, ...], model: str, book: SignatureBook) -> tuple[dict, ...]:
    """Sign the first function call (Gemini 2.5/3), or for Gemini 3 the last answer text."""
    parts = tuple(dict(p) for p in parts)
    calls = [p for p in parts if "functionCall" in p]
    if calls and signs_function_calls(model):
        calls[0].setdefault("thoughtSignature", book.issue())
    answers = [p for p in parts if "text" in p and not p.get("thought")]
    if not calls and answers and enforces_signatures(model):
        answers[-1].setdefault("thoughtSignature", book.issue())
    return parts


def _remember_signatures(body: Any, book: SignatureBook) -> None:
    if isinstance(body, bytes):
        for match in _SIGNATURE_IN_BYTES.finditer(body):
            book.remember(match.group(1).decode())
    elif isinstance(body, dict):
        for key, value in body.items():
            if key == "thoughtSignature" and isinstance(value, str):
                book.remember(value)
            else:
                _remember_signatures(value, book)
    elif isinstance(body, list):
        for item in body:
            _remember_signatures(item, book)


# --- response shapes -----------------------------------------------------------------
def _candidate(parts: list[dict], index: int, *, finish: Reply | None = None,
               avg_logprobs: float | None = None) -> dict:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts} if parts else {}}
    if finish is not None:
        candidate["finishReason"] = finish.finish_reason
        if finish.finish_message:
            candidate["finishMessage"] = finish.finish_message
    if avg_logprobs is not None:
        candidate["avgLogprobs"] = avg_logprobs
    if index:
        candidate["index"] = index
    return candidate


def _unary(candidates: list, reply: Reply, usage: dict, meta: dict) -> dict:
    avg = round(-0.37 / (1 + usage.get("candidatesTokenCount", 0)), 8)
    return {"candidates": [_candidate(list(parts), i, finish=reply, avg_logprobs=avg)
                           for i, (parts, _) in enumerate(candidates)],
            "usageMetadata": usage, **meta}


def split_text(text: str, chunks: int) -> list[str]:
    """``text`` cut into ``chunks`` pieces of near-equal length (fewer if it is shorter)."""
    count = max(1, min(chunks, len(text)))
    bounds = [round(i * len(text) / count) for i in range(count + 1)]
    return [text[bounds[i]:bounds[i + 1]] for i in range(count)]


def stream_groups(parts: tuple[dict, ...], chunks: int) -> list[list[dict]]:
    """The parts each stream chunk carries."""
    groups: list[list[dict]] = []
    for part in parts:
        if "functionCall" in part and groups and groups[-1] and "functionCall" in groups[-1][-1]:
            groups[-1].append(part)  # parallel calls arrive together
        elif "text" in part and not part.get("thought"):
            *head, last = split_text(part["text"], chunks)
            groups.extend([{"text": piece}] for piece in head)
            groups.append([{**part, "text": last}])
        else:
            groups.append([part])
    return groups or [[]]


def _stream(candidates: list, reply: Reply, usage: dict, meta: dict) -> list[dict]:
    grouped = [stream_groups(parts, chunks) for parts, chunks in candidates]
    total = max(len(groups) for groups in grouped)
    events = []
    for k in range(total):
        last = k == total - 1
        chunk_candidates = [_candidate(groups[k], i, finish=reply if k == len(groups) - 1 else None)
                            for i, groups in enumerate(grouped) if k < len(groups)]
        events.append({"candidates": chunk_candidates, "usageMetadata": usage if last else dict(TRAFFIC), **meta})
    return events


def _sample_events(body: Any, *, stream: bool, sse: bool, book: SignatureBook) -> list[Any]:
    _remember_signatures(body, book)
    if isinstance(body, bytes):
        return [m.group(0) for m in _SSE_EVENT.finditer(body)] if stream and sse else [body]
    if isinstance(body, list):
        return list(body) if stream else [_merged(body)]
    return [body]


def _merged(events: list[dict]) -> dict:
    """One unary response from recorded stream events (candidate 0's parts concatenated)."""
    merged = copy.deepcopy(events[-1])
    parts = [p for e in events for c in e.get("candidates", [])[:1] for p in c.get("content", {}).get("parts", [])]
    if merged.get("candidates"):
        merged["candidates"][0].setdefault("content", {"role": "model"})["parts"] = parts
    return merged
