"""A unary Vertex `GenerateContentResponse` -> an OpenAI `chat.completion`, and the per-candidate
pieces the stream translator shares.

Choices follow the candidates (`index` absent = 0). Per candidate:

- `content` joins the non-thought text parts (null when there are none). Thought parts become
  `reasoning_content`, a `<think>…</think>` prefix of `content`, or nothing (`ctx.reasoning_output`).
- functionCall parts become `tool_calls` with fresh `call_…` ids and compact JSON `arguments`, and the
  finish_reason is then "tool_calls" (Vertex says STOP). Thought signatures go to the SignatureStore.
- A malformed call (MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS) is retried once
  by the addon (`is_malformed_call`). One that still reaches translation becomes a visible assistant
  text quoting Vertex's `finishMessage`, finish_reason "stop": agent loops (Roo, Cline) show it and
  re-prompt the model instead of failing on an "empty response".
- A blocked prompt (no candidates, `promptFeedback.blockReason`) or a filtered empty answer is one
  choice with finish_reason "content_filter" whose `refusal` and `content` both carry the reason
  ("Prompt blocked by Vertex AI: SAFETY — …"): `refusal` for OpenAI-aware clients, `content` so chat
  UIs show it.

Usage: prompt_tokens = promptTokenCount + toolUsePromptTokenCount; completion_tokens =
candidatesTokenCount + thoughtsTokenCount; total_tokens = totalTokenCount, which Vertex defines as the
sum of those four, so total = prompt + completion (the sum when Vertex omits it); cached_tokens =
cachedContentTokenCount (part of the prompt); reasoning_tokens = thoughtsTokenCount. Missing counts
are 0.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from .context import ResponseContext
from .errors import UpstreamReplyError
from .signatures import SignatureStore, call_key, text_key

FINISH_REASONS: dict[str, str] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(
        (
            "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "LANGUAGE", "MODEL_ARMOR",
        ),
        "content_filter",
    ),
    "OTHER": "stop",
    "FINISH_REASON_UNSPECIFIED": "stop",
}  # anything else -> "stop"
MALFORMED_CALL = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"})

THINK_OPEN, THINK_CLOSE = "<think>\n", "\n</think>\n\n"
_ID_ALPHABET = string.ascii_letters + string.digits
_COUNTS = ("promptTokenCount", "candidatesTokenCount", "totalTokenCount", "thoughtsTokenCount",
           "toolUsePromptTokenCount", "cachedContentTokenCount")


def new_call_id() -> str:
    """`call_` + 24 random letters and digits (clients want ≥ 9 characters)."""
    return "call_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


def finish_reason(vertex_reason: str | None, has_calls: bool) -> str:
    if has_calls:
        return "tool_calls"
    return FINISH_REASONS.get(vertex_reason or "STOP", "stop")


def is_malformed_call(vertex: dict) -> bool:
    """True when Vertex gave up on a function call (worth one retry)."""
    return any(c.get("finishReason") in MALFORMED_CALL for c in vertex.get("candidates") or ())


def has_token_counts(meta: dict | None) -> bool:
    """False for Vertex's intermediate stream usage (`{"trafficType": "ON_DEMAND"}`) and for None."""
    return bool(meta) and any(key in meta for key in _COUNTS)


def openai_usage(meta: dict | None) -> dict | None:
    """Vertex `usageMetadata` -> OpenAI `usage` (rule in the module docstring); None without counts."""
    if not has_token_counts(meta):
        return None
    prompt = meta.get("promptTokenCount", 0) + meta.get("toolUsePromptTokenCount", 0)
    thoughts = meta.get("thoughtsTokenCount", 0)
    completion = meta.get("candidatesTokenCount", 0) + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": meta.get("totalTokenCount", prompt + completion),
        "prompt_tokens_details": {"cached_tokens": meta.get("cachedContentTokenCount", 0)},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def zero_usage() -> dict:
    return openai_usage({"totalTokenCount": 0})  # type: ignore[return-value]


def part_text(part: dict) -> str | None:
    """The text a part contributes to the answer (code execution rendered as Markdown), else None."""
    if "text" in part:
        return part["text"]
    if "executableCode" in part:
        code = part["executableCode"]
        language = code.get("language", "").lower().replace("language_unspecified", "")
        return f"\n```{language}\n{code.get('code', '')}\n```\n"
    if "codeExecutionResult" in part:
        return f"\n```\n{part['codeExecutionResult'].get('output', '')}\n```\n"
    return None


def tool_call(function_call: dict, ctx: ResponseContext, signature: str | None,
              signatures: SignatureStore | None) -> dict:
    """A Vertex functionCall -> an OpenAI tool call; its signature (if any) is remembered."""
    vertex_name = function_call.get("name", "")
    name = ctx.tool_names.get(vertex_name, vertex_name)
    args = function_call.get("args") or {}
    call_id = new_call_id()
    if signature and signatures is not None:
        signatures.remember_call(call_id, name, args, signature)
        if vertex_name != name:
            signatures.put(call_key(vertex_name, args), signature)
    arguments = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def remember_text_signature(
    signature: str | None, signatures: SignatureStore | None, answer: str, thoughts: str = ""
) -> None:
    """Gemini 3 signs the last text part: keep it under the text the client will send back, the
    answer alone and, with think tags, also the whole content (tags included)."""
    if not signature or not answer or signatures is None:
        return
    signatures.put(text_key(answer), signature)
    if thoughts:
        signatures.put(text_key(THINK_OPEN + thoughts + THINK_CLOSE + answer), signature)


def _flagged(ratings: list | None) -> str:
    names = [
        r.get("category", "").removeprefix("HARM_CATEGORY_")
        for r in ratings or ()
        if r.get("blocked") or r.get("probability") in ("MEDIUM", "HIGH")
    ]
    return f" ({', '.join(names)})" if names else ""


def blocked_prompt_text(feedback: dict) -> str:
    text = f"Prompt blocked by Vertex AI: {feedback.get('blockReason', 'BLOCKED_REASON_UNSPECIFIED')}"
    if feedback.get("blockReasonMessage"):
        return f"{text} — {feedback['blockReasonMessage']}"
    return text + _flagged(feedback.get("safetyRatings"))


def filtered_text(candidate: dict) -> str:
    text = f"Response blocked by Vertex AI: {candidate.get('finishReason')}"
    if candidate.get("finishMessage"):
        return f"{text} — {candidate['finishMessage']}"
    return text + _flagged(candidate.get("safetyRatings"))


def malformed_call_text(candidate: dict) -> str:
    detail = candidate.get("finishMessage") or "no details given"
    return (
        f"[vertex-bridge] Gemini produced an invalid function call ({candidate.get('finishReason')}): "
        f"{detail}. Please try again."
    )


def _token(candidate: dict) -> dict:
    token = candidate.get("token", "")
    logprob = candidate.get("logProbability", 0.0)  # proto3 JSON omits a zero
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def openai_logprobs(result: dict | None) -> dict | None:
    """Vertex `logprobsResult` -> OpenAI choice `logprobs` (chosen token + its top alternatives)."""
    if not result:
        return None
    tops = result.get("topCandidates") or []
    content = []
    for i, chosen in enumerate(result.get("chosenCandidates") or ()):
        alternatives = tops[i].get("candidates") or () if i < len(tops) else ()
        content.append({**_token(chosen), "top_logprobs": [_token(t) for t in alternatives]})
    return {"content": content, "refusal": None}


def _char_span(segment: dict, text: str) -> tuple[int, int]:
    """A grounding segment's span in characters (Vertex counts UTF-8 bytes)."""
    quoted = segment.get("text")
    found = text.find(quoted) if quoted else -1
    if found >= 0:
        return found, found + len(quoted)
    raw = text.encode()
    start = len(raw[: segment.get("startIndex", 0)].decode("utf-8", "ignore"))
    return start, len(raw[: segment.get("endIndex", 0)].decode("utf-8", "ignore"))


def url_citations(grounding: dict | None, text: str, offset: int = 0) -> list[dict]:
    """Grounding supports -> OpenAI `url_citation` annotations over `text` (shifted by `offset`)."""
    if not grounding or not text:
        return []
    chunks = grounding.get("groundingChunks") or []
    out = []
    for support in grounding.get("groundingSupports") or ():
        start, end = _char_span(support.get("segment") or {}, text)
        for i in support.get("groundingChunkIndices") or ():
            chunk = chunks[i] if 0 <= i < len(chunks) else {}
            source = chunk.get("web") or chunk.get("retrievedContext") or {}
            if source.get("uri"):
                out.append({"type": "url_citation", "url_citation": {
                    "start_index": start + offset, "end_index": end + offset,
                    "url": source["uri"], "title": source.get("title", ""),
                }})
    return out


def _choice(candidate: dict, ctx: ResponseContext, signatures: SignatureStore | None) -> dict:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict] = []
    text_signature = None
    for part in (candidate.get("content") or {}).get("parts") or ():
        if "functionCall" in part:
            calls.append(tool_call(part["functionCall"], ctx, part.get("thoughtSignature"), signatures))
            continue
        text_signature = part.get("thoughtSignature") or text_signature
        text = part_text(part)
        if text is not None:
            (thoughts if part.get("thought") else texts).append(text)
    answer = "".join(texts)
    think_tags = bool(thoughts) and ctx.reasoning_output == "think_tags"
    remember_text_signature(text_signature, signatures, answer, "".join(thoughts) if think_tags else "")

    reason = candidate.get("finishReason")
    if not calls and reason in MALFORMED_CALL:
        notice = malformed_call_text(candidate)
        answer = f"{answer}\n\n{notice}" if answer else notice
    message: dict[str, Any] = {"role": "assistant", "content": answer or None, "refusal": None}
    prefix = ""
    if thoughts and ctx.reasoning_output == "reasoning_content":
        message["reasoning_content"] = "".join(thoughts)
    elif thoughts and ctx.reasoning_output == "think_tags":
        prefix = THINK_OPEN + "".join(thoughts) + THINK_CLOSE
        message["content"] = prefix + answer
    if calls:
        message["tool_calls"] = calls
    fr = finish_reason(reason, bool(calls))  # a malformed call is "stop" (not in the table)
    if fr == "content_filter" and not answer and not calls:
        message["refusal"] = filtered_text(candidate)
        message["content"] = prefix + message["refusal"]
    annotations = url_citations(candidate.get("groundingMetadata"), answer, len(prefix))
    if annotations:
        message["annotations"] = annotations
    return {
        "index": candidate.get("index", 0),
        "message": message,
        "logprobs": openai_logprobs(candidate.get("logprobsResult")),
        "finish_reason": fr,
    }


def blocked_choice(feedback: dict) -> dict:
    text = blocked_prompt_text(feedback)
    return {
        "index": 0,
        "message": {"role": "assistant", "content": text, "refusal": text},
        "logprobs": None,
        "finish_reason": "content_filter",
    }


def to_openai_response(
    vertex: dict, ctx: ResponseContext, signatures: SignatureStore | None = None
) -> dict:
    """A parsed unary Vertex reply -> an OpenAI `chat.completion` body."""
    candidates = vertex.get("candidates") or []
    feedback = vertex.get("promptFeedback") or {}
    if candidates:
        ordered = sorted(candidates, key=lambda c: c.get("index", 0))
        choices = [_choice(c, ctx, signatures) for c in ordered]
    elif feedback.get("blockReason"):
        choices = [blocked_choice(feedback)]
    else:
        raise UpstreamReplyError("Vertex AI returned no candidates and no block reason.")
    return {
        "id": ctx.completion_id,
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.requested_model,
        "choices": choices,
        "usage": openai_usage(vertex.get("usageMetadata")) or zero_usage(),
        "system_fingerprint": None,
    }
