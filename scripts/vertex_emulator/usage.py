"""Token accounting for replies: crude counts (whitespace words) laid out like Vertex's usageMetadata.

``totalTokenCount = prompt + candidates + thoughts + toolUsePrompt``; cached tokens are a
subset of the prompt; zero counts are omitted (vertex-wire.md §2.2).
"""

from __future__ import annotations

import json
from typing import Any

from .validation import as_list, get

TOTAL_TERMS = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount")
DETAILS = {"promptTokensDetails": "promptTokenCount", "candidatesTokensDetails": "candidatesTokenCount",
           "cacheTokensDetails": "cachedContentTokenCount", "toolUsePromptTokensDetails": "toolUsePromptTokenCount"}
USAGE_ORDER = ("promptTokenCount", "candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount",
               "toolUsePromptTokenCount", "trafficType", "promptTokensDetails", "candidatesTokensDetails",
               "cacheTokensDetails", "toolUsePromptTokensDetails", "thoughtsTokenCount")


def count_tokens(text: str) -> int:
    """A crude token count: whitespace-separated words."""
    return len(text.split())


def part_text(part: Any) -> str:
    for name in ("function_call", "function_response"):
        if get(part, name) is not None:
            return json.dumps(get(part, name))
    text = get(part, "text")
    return text if isinstance(text, str) else ""


def prompt_tokens(body: dict) -> int:
    turns = [get(body, "system_instruction")] + as_list(get(body, "contents"))
    return max(1, sum(count_tokens(part_text(p)) for turn in turns for p in as_list(get(turn, "parts"))))


def usage_metadata(prompt: int, candidates: list[tuple[dict, ...]], overrides: dict) -> dict:
    """usageMetadata in Vertex's key order; zero counts are omitted like proto3 JSON does."""
    parts = [p for candidate in candidates for p in candidate]
    counts = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": sum(count_tokens(part_text(p)) for p in parts if not p.get("thought")),
        "thoughtsTokenCount": sum(count_tokens(p["text"]) for p in parts if p.get("thought")),
        "trafficType": "ON_DEMAND",
        **overrides,
    }
    counts.setdefault("totalTokenCount", sum(counts.get(key, 0) for key in TOTAL_TERMS))
    for details, count in DETAILS.items():
        if counts.get(count):
            counts.setdefault(details, [{"modality": "TEXT", "tokenCount": counts[count]}])
    ordered = {key: counts.pop(key) for key in USAGE_ORDER if counts.get(key)}
    return {**ordered, **{key: value for key, value in counts.items() if value}}
