"""What the translators need to know besides the bodies: the model, the options, per-request state."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Literal

ReasoningOutput = Literal["reasoning_content", "think_tags", "hidden"]
SchemaMode = Literal["json_schema", "openapi"]


@dataclass(frozen=True)
class ModelTarget:
    """The Vertex model a request goes to, and the name the client used for it."""

    vertex_model: str
    requested_model: str
    api_version: str = "v1"
    reasoning_effort: str | None = None  # implied by a Cursor-style suffix such as `-high`

    @property
    def is_gemini3(self) -> bool:
        return self.vertex_model.startswith("gemini-3")

    @property
    def is_pro(self) -> bool:
        return "-pro" in self.vertex_model


@dataclass(frozen=True)
class TranslationOptions:
    """Settings that change how bodies are translated (from the proxy configuration)."""

    reasoning_output: ReasoningOutput = "reasoning_content"
    schema_mode: SchemaMode = "json_schema"
    default_safety_settings: tuple[dict, ...] = ()
    user_label: bool = False


def new_completion_id() -> str:
    return "chatcmpl-" + secrets.token_urlsafe(18).replace("-", "").replace("_", "")[:24]


@dataclass
class ResponseContext:
    """Per-request state shared by the unary and stream response translators."""

    requested_model: str
    stream: bool = False
    include_usage: bool = False
    n: int = 1
    reasoning_output: ReasoningOutput = "reasoning_content"
    # Vertex function name -> the client's own tool name (names Vertex would reject are renamed).
    tool_names: dict[str, str] = field(default_factory=dict)
    completion_id: str = field(default_factory=new_completion_id)
    created: int = field(default_factory=lambda: int(time.time()))
