"""Sampling, output format and thinking settings -> `generationConfig`; Vertex-only extras -> top level.

`reasoning_effort` (or the model-name suffix behind `target.reasoning_effort`) becomes a thinking
budget on Gemini 2.5, clamped to what each variant accepts (Pro cannot switch thinking off), and a
thinking level on Gemini 3. `extra_body={"google": {...}}` passes Vertex settings through:
`thinking_config` (replaces the effort mapping), `safety_settings`, `cached_content`, `labels`,
`media_resolution`; snake_case or camelCase keys.
"""

from __future__ import annotations

import re
from typing import Any

from .context import ModelTarget, TranslationOptions
from .json_schema import clean_json_schema
from .openai_types import ChatRequest, ResponseFormat
from .schema import to_openapi_schema
from .vertex_types import GenerationConfig, ThinkingConfig

MAX_STOP_SEQUENCES = 5
MAX_OUTPUT_TOKENS = 65536  # the largest any current Gemini model allows; Vertex rejects more
INT32 = 2**31
# OpenAI field -> generationConfig field, copied when set.
SAMPLING_FIELDS = (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"), ("seed", "seed"))
PENALTY_FIELDS = (("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"))
# Models that reject presence/frequency penalties (LiteLLM drops them too).
NO_PENALTY_MODELS = ("gemini-3",)
# Gemini 2.5: effort -> thinkingBudget, before the variant's bounds apply.
THINKING_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
# Gemini 2.5 variants, first match wins: (name part, smallest budget when thinking, largest, may be off).
BUDGET_BOUNDS = (("flash-lite", 512, 24576, True), ("pro", 128, 32768, False), ("flash", 1, 24576, True))
# Gemini 3: effort -> thinkingLevel. Pro has no MINIMAL (or, at launch, MEDIUM) level.
THINKING_LEVELS = {"none": "MINIMAL", "minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH",
                   "xhigh": "HIGH"}
PRO_THINKING_LEVELS = {**THINKING_LEVELS, "none": "LOW", "minimal": "LOW", "medium": "HIGH"}
_LABEL_UNSAFE = re.compile(r"[^a-z0-9_-]")


def generation_config(
    req: ChatRequest,
    target: ModelTarget,
    options: TranslationOptions,
    media_resolution: str | None,
    repairs: list[str],
) -> GenerationConfig:
    config: dict[str, Any] = {}
    for openai_name, vertex_name in SAMPLING_FIELDS:
        value = getattr(req, openai_name)
        if value is not None:
            config[vertex_name] = value
    if req.seed is not None and not -INT32 <= req.seed < INT32:
        config["seed"] = req.seed % INT32  # Vertex seeds are int32; OpenAI clients send int64
    config.update(_penalties(req, target, repairs))
    max_tokens = req.max_completion_tokens or req.max_tokens
    if max_tokens:
        if max_tokens > MAX_OUTPUT_TOKENS:
            repairs.append(f"lowered max tokens {max_tokens} to {MAX_OUTPUT_TOKENS}, Gemini's largest")
        config["maxOutputTokens"] = min(max_tokens, MAX_OUTPUT_TOKENS)
    if req.n and req.n > 1:
        config["candidateCount"] = req.n
    stops = _stop_sequences(req.stop, repairs)
    if stops:
        config["stopSequences"] = stops
    if req.logprobs:
        config["responseLogprobs"] = True
        if req.top_logprobs:
            config["logprobs"] = req.top_logprobs
    config.update(_response_format(req.response_format, options))
    google = req.google
    resolution = _media_resolution(google.media_resolution) if google and google.media_resolution else None
    if resolution or media_resolution:
        config["mediaResolution"] = resolution or media_resolution
    thinking = _thinking(req, target, options)
    if thinking:
        config["thinkingConfig"] = thinking
    return config  # type: ignore[return-value]


def request_settings(req: ChatRequest, options: TranslationOptions) -> dict[str, Any]:
    """Top-level Vertex fields: safetySettings, cachedContent, labels."""
    google = req.google
    out: dict[str, Any] = {}
    safety = google.safety_settings if google and google.safety_settings else options.default_safety_settings
    if safety:
        out["safetySettings"] = [_camel_keys(setting) for setting in safety]
    if google and google.cached_content:
        out["cachedContent"] = google.cached_content
    labels = dict(google.labels) if google and google.labels else {}
    if options.user_label and req.user:
        labels["user"] = user_label(req.user)
    if labels:
        out["labels"] = labels
    return out


def user_label(user: str) -> str:
    """A GCP label value: lowercase letters, digits, `_` and `-`; at most 63 characters."""
    return _LABEL_UNSAFE.sub("_", user.lower())[:63]


def _penalties(req: ChatRequest, target: ModelTarget, repairs: list[str]) -> dict[str, float]:
    """Presence/frequency penalties; a zero is a no-op and is left out (some models reject the field)."""
    penalties = {vertex: value for field, vertex in PENALTY_FIELDS if (value := getattr(req, field))}
    if penalties and target.vertex_model.startswith(NO_PENALTY_MODELS):
        repairs.append(f"dropped {', '.join(penalties)}: {target.vertex_model} does not support penalties")
        return {}
    return penalties


def _stop_sequences(stop: str | list[str] | None, repairs: list[str]) -> list[str]:
    stops = [s for s in ([stop] if isinstance(stop, str) else stop or ()) if s]
    if len(stops) > MAX_STOP_SEQUENCES:
        repairs.append(f"kept the first {MAX_STOP_SEQUENCES} of {len(stops)} stop sequences (Gemini's limit)")
        stops = stops[:MAX_STOP_SEQUENCES]
    return stops


def _response_format(fmt: ResponseFormat | None, options: TranslationOptions) -> dict[str, Any]:
    if fmt is None or fmt.type == "text":
        return {}
    out: dict[str, Any] = {"responseMimeType": "application/json"}
    schema = fmt.json_schema.json_schema if fmt.type == "json_schema" and fmt.json_schema else None
    if schema and options.schema_mode == "openapi":
        out["responseSchema"] = to_openapi_schema(schema, force_object=False)
    elif schema:
        out["responseJsonSchema"] = clean_json_schema(schema)
    return out


def _thinking(req: ChatRequest, target: ModelTarget, options: TranslationOptions) -> ThinkingConfig | None:
    show = options.reasoning_output != "hidden"
    if req.google and req.google.thinking_config is not None:
        explicit = _camel_keys(req.google.thinking_config)
        if isinstance(explicit.get("thinkingLevel"), str):
            explicit["thinkingLevel"] = explicit["thinkingLevel"].upper()
        explicit.setdefault("includeThoughts", show and explicit.get("thinkingBudget") != 0)
        return explicit  # type: ignore[return-value]
    config = _effort_thinking(target, req.reasoning_effort or target.reasoning_effort)
    if config is not None and show and config.get("thinkingBudget") != 0:
        config["includeThoughts"] = True
    return config or None  # type: ignore[return-value]


def _effort_thinking(target: ModelTarget, effort: str | None) -> dict[str, Any] | None:
    """The effort as a level (Gemini 3) or budget (2.5); {} without an effort, None for older models."""
    if target.is_gemini3:
        levels = PRO_THINKING_LEVELS if target.is_pro else THINKING_LEVELS
        return {"thinkingLevel": levels[effort]} if effort else {}
    if target.vertex_model.startswith("gemini-2.5"):
        return {"thinkingBudget": _budget(target.vertex_model, effort)} if effort else {}
    return None


def _budget(model: str, effort: str) -> int:
    budget = THINKING_BUDGETS[effort]
    for name_part, smallest, largest, may_be_off in BUDGET_BOUNDS:
        if name_part in model:
            if budget == 0 and may_be_off:
                return 0
            return min(max(budget, smallest), largest)
    return budget


def _media_resolution(value: str) -> str:
    value = value.upper()
    return value if value.startswith("MEDIA_RESOLUTION_") else f"MEDIA_RESOLUTION_{value}"


def _camel_keys(setting: dict[str, Any]) -> dict[str, Any]:
    return {_camel(key): value for key, value in setting.items()}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)
