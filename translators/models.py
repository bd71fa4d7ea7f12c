"""Model names: the served list, aliases, and the suffixes Cursor appends.

Cursor routes any model id starting with `gemini-` or `claude-` to its own providers, so every served
model is also offered as `vertex/<model>`. Cursor also appends variant suffixes (`-thinking`, `-high`,
`-xhigh`, `-fast`, …); they are stripped and become a reasoning effort.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .context import ModelTarget

DEFAULT_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-2.5-flash-lite",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
)

ALIAS_PREFIXES: tuple[str, ...] = ("vertex/", "google/", "vertex_ai/", "models/")

# Cursor-style variant suffix -> reasoning effort. Longest first, so `-xhigh` wins over `-high`.
SUFFIX_EFFORT: dict[str, str] = {
    "-nothinking": "none",
    "-no-thinking": "none",
    "-thinking": "high",
    "-minimal": "minimal",
    "-medium": "medium",
    "-xhigh": "high",
    "-high": "high",
    "-fast": "low",
    "-low": "low",
    "-max": "high",
}
_SUFFIXES = sorted(SUFFIX_EFFORT, key=len, reverse=True)


def served_ids(models: Iterable[str], aliases: Mapping[str, str]) -> list[str]:
    """Every id `/v1/models` lists: each model bare and as `vertex/<model>`, then the aliases."""
    ids: list[str] = []
    for model in models:
        ids += [model, f"vertex/{model}"]
    ids += [alias for alias in aliases if alias not in ids]
    return ids


def api_version_for(vertex_model: str) -> str:
    """Gemini 3 wants `functionCall.id` and `thinkingLevel`, which only v1beta1 documents."""
    return "v1beta1" if vertex_model.startswith("gemini-3") else "v1"


def _strip_prefix(name: str) -> str:
    for prefix in ALIAS_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _split_suffix(name: str) -> tuple[str, str | None]:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], SUFFIX_EFFORT[suffix]
    return name, None


def resolve_model(requested: str, aliases: Mapping[str, str] | None = None) -> ModelTarget:
    """Map the client's model name to a Vertex model id.

    Order: an exact alias; the name without a `vertex/`-style prefix (or its alias); then the same
    with a Cursor variant suffix stripped. A bare unknown id is passed through: Vertex decides.
    """
    aliases = aliases or {}
    for candidate in (requested, _strip_prefix(requested)):
        if candidate in aliases:
            return _target(aliases[candidate], requested, None)
    base, effort = _split_suffix(_strip_prefix(requested))
    if effort is not None:
        base = aliases.get(base) or aliases.get(f"vertex/{base}") or base
        return _target(base, requested, effort)
    return _target(_strip_prefix(requested), requested, None)


def _target(vertex_model: str, requested: str, effort: str | None) -> ModelTarget:
    vertex_model = _strip_prefix(vertex_model)
    return ModelTarget(
        vertex_model=vertex_model,
        requested_model=requested,
        api_version=api_version_for(vertex_model),
        reasoning_effort=effort,
    )
