"""Pydantic models of the OpenAI Chat Completions request, as real clients send it.

Liberal by design: unknown optional fields (`user`, `store`, `metadata`, `prediction`, …) are ignored,
`index` inside request tool calls is accepted, and `content` may be a string, null, `[]` or a list of
parts. What cannot be translated (an unknown role, an unknown content part type, values out of range)
fails validation with a path such as `messages[2].role`; `request.parse_request` turns that into an
`InvalidRequestError`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_TOOLS = 128  # Vertex accepts at most 128 function declarations


class Model(BaseModel):
    """Base: ignore unknown fields, never fail on them."""

    model_config = ConfigDict(extra="ignore")


# --- content parts ------------------------------------------------------------------------------


class TextPart(Model):
    type: Literal["text", "input_text", "output_text"]
    text: str


class RefusalPart(Model):
    type: Literal["refusal"]
    refusal: str


class ImageUrl(Model):
    url: str
    detail: str | None = None


class ImagePart(Model):
    type: Literal["image_url"]
    image_url: ImageUrl

    @field_validator("image_url", mode="before")
    @classmethod
    def _bare_url(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value


class AudioData(Model):
    data: str
    format: str


class AudioPart(Model):
    type: Literal["input_audio"]
    input_audio: AudioData


class FileData(Model):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(Model):
    type: Literal["file"]
    file: FileData


ContentPart = TextPart | RefusalPart | ImagePart | AudioPart | FilePart
PART_MODELS: dict[str, type[Model]] = {
    "text": TextPart,
    "input_text": TextPart,
    "output_text": TextPart,
    "refusal": RefusalPart,
    "image_url": ImagePart,
    "input_audio": AudioPart,
    "file": FilePart,
}


def describe_validation_error(error: ValidationError) -> str:
    """The first problem of a pydantic error as one readable line: `path: message`."""
    errors = error.errors(include_url=False)
    path = error_path(errors[0]["loc"])
    # A union (e.g. `content`) fails once per member; say what each member wanted.
    messages = dict.fromkeys(_clean_msg(e["msg"]) for e in errors if error_path(e["loc"]) == path)
    text = "; or ".join(list(messages)[:3])
    return f"{path}: {text}" if path else text


def _clean_msg(msg: str) -> str:
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


_UNION_LABELS = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})


def error_path(loc: tuple[Any, ...]) -> str:
    """`('messages', 2, 'role')` -> `messages[2].role`; union labels such as `list[...]` are skipped."""
    path = ""
    for segment in loc:
        if isinstance(segment, int):
            path += f"[{segment}]"
        elif segment.isidentifier() and not segment[0].isupper() and segment not in _UNION_LABELS:
            path += f".{segment}" if path else segment
    return path


def _parse_part(index: int, item: Any) -> Model:
    if not isinstance(item, dict):
        raise ValueError(f"content part {index} must be an object")
    part_type = item.get("type")
    model = PART_MODELS.get(part_type)  # type: ignore[arg-type]
    if model is None:
        raise ValueError(
            f"content part {index} has unsupported type {part_type!r} (supported: {', '.join(PART_MODELS)})"
        )
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise ValueError(f"content part {index} ({part_type}): {describe_validation_error(exc)}") from None


# --- messages -----------------------------------------------------------------------------------


class FunctionCall(Model):
    name: str = Field(min_length=1)
    arguments: str | dict[str, Any] | None = None


class CustomCall(Model):
    name: str = Field(min_length=1)
    input: str = ""


class ToolCall(Model):
    """A call in assistant history; `index` (Cursor) is ignored, custom calls carry `{"input": …}`."""

    id: str | None = None
    type: str = "function"
    function: FunctionCall | None = None
    custom: CustomCall | None = None

    @model_validator(mode="after")
    def _has_body(self) -> ToolCall:
        if self.function is None and self.custom is None:
            raise ValueError("a tool call needs a 'function' (or 'custom') object")
        return self


class Message(Model):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCall | None = None  # legacy single call on assistant messages

    @field_validator("content", mode="before")
    @classmethod
    def _parts(cls, value: Any) -> Any:
        if isinstance(value, dict):  # a lone part object
            value = [value]
        if isinstance(value, list):
            return [_parse_part(index, item) for index, item in enumerate(value)]
        return value


# --- tools --------------------------------------------------------------------------------------


class FunctionDef(Model):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class CustomToolDef(Model):
    """A free-form tool (`{"type": "custom"}`), optionally constrained by a grammar in `format`."""

    name: str = Field(min_length=1)
    description: str | None = None
    format: dict[str, Any] | None = None


class Tool(Model):
    type: str = "function"
    function: FunctionDef | None = None
    custom: CustomToolDef | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat_shape(cls, data: Any) -> Any:
        """Accept the flat Responses shape (`{"type": "function", "name": …}`) Cursor also sends here."""
        if isinstance(data, dict) and "name" in data:
            kind = data.get("type", "function")
            if kind in ("function", "custom") and kind not in data:
                return {"type": kind, kind: data}
        return data

    @model_validator(mode="after")
    def _has_body(self) -> Tool:
        if self.type in ("function", "custom") and getattr(self, self.type) is None:
            raise ValueError(f"a {self.type} tool needs a '{self.type}' object")
        return self


# --- options ------------------------------------------------------------------------------------


class StreamOptions(Model):
    include_usage: bool = False


class JsonSchemaFormat(Model):
    name: str | None = None
    description: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(Model):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


def _either(snake: str) -> Any:
    head, *rest = snake.split("_")
    camel = head + "".join(word.title() for word in rest)
    return Field(default=None, validation_alias=AliasChoices(snake, camel))


class GoogleExtras(Model):
    """`extra_body={"google": {...}}`: Vertex settings with no OpenAI equivalent (snake or camel keys)."""

    thinking_config: dict[str, Any] | None = _either("thinking_config")
    safety_settings: list[dict[str, Any]] | None = _either("safety_settings")
    cached_content: str | None = _either("cached_content")
    labels: dict[str, str] | None = None
    media_resolution: str | None = _either("media_resolution")


# --- the request --------------------------------------------------------------------------------


class ChatRequest(Model):
    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None  # accepted; Vertex has no switch for it
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    n: int | None = Field(default=None, ge=1, le=8)  # Vertex candidateCount allows 1..8
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    user: str | None = None
    google: GoogleExtras | None = None
    # Legacy function calling (pre-`tools` clients).
    functions: list[FunctionDef] | None = Field(default=None, max_length=MAX_TOOLS)
    function_call: str | dict[str, Any] | None = None

    @field_validator("reasoning_effort", mode="before")
    @classmethod
    def _lower_effort(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _legacy_functions(self) -> ChatRequest:
        if self.tools is None and self.functions:
            self.tools = [Tool(type="function", function=f) for f in self.functions]
        if self.tool_choice is None and self.function_call is not None:
            choice = self.function_call
            self.tool_choice = {"type": "function", "function": choice} if isinstance(choice, dict) else choice
        return self

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)
