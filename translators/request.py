"""The request side's public API: parse an OpenAI body, translate it to a Vertex `generateContent` call.

    req = parse_request(body)                       # InvalidRequestError on anything malformed
    call = to_vertex(req, target, options, store)   # call.body is the JSON-ready Vertex request
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

from .context import ModelTarget, TranslationOptions
from .errors import InvalidRequestError
from .generation import generation_config, request_settings
from .messages import build_conversation
from .openai_types import ChatRequest, describe_validation_error, error_path
from .responses_body import is_responses_body, to_chat_body
from .signatures import SignatureStore
from .tools import translate_tools

# Models that predate `parametersJsonSchema` / `responseJsonSchema`: they get the sanitized OpenAPI schema.
OPENAPI_ONLY_MODELS = ("gemini-1.", "gemini-2.0")


@dataclass
class VertexCall:
    body: dict[str, Any]  # GenerateContentRequest, camelCase, JSON-ready
    stream: bool
    include_usage: bool
    n: int
    tool_names: dict[str, str] = field(default_factory=dict)  # vertex name -> client name
    custom_tools: set[str] = field(default_factory=set)  # client names of custom tools ({"input": …} args)
    repairs: list[str] = field(default_factory=list)  # what was changed to satisfy Gemini (debug notes)


def parse_request(body: bytes) -> ChatRequest:
    """Validate a `/chat/completions` body (Chat Completions or Responses shaped) into a ChatRequest."""
    data = _load_json(body)
    if is_responses_body(data):
        data = to_chat_body(data)
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        param = error_path(exc.errors(include_url=False)[0]["loc"]) or None
        raise InvalidRequestError(f"Invalid request: {describe_validation_error(exc)}", param=param) from None


def _load_json(body: bytes) -> dict[str, Any]:
    if not body or not body.strip():
        raise InvalidRequestError("The request body is empty; expected a JSON object")
    try:
        data = from_json(body)
    except ValueError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequestError("The request body is not valid UTF-8") from None
        raise InvalidRequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequestError(f"The request body must be a JSON object, not {type(data).__name__}")
    return data


def to_vertex(
    req: ChatRequest,
    target: ModelTarget,
    options: TranslationOptions = TranslationOptions(),
    signatures: SignatureStore | None = None,
) -> VertexCall:
    """Translate a validated request for `target`; `signatures` re-attaches Gemini thought signatures."""
    repairs: list[str] = []
    if target.vertex_model.startswith(OPENAPI_ONLY_MODELS):
        options = replace(options, schema_mode="openapi")
    toolset = translate_tools(req.tools, req.tool_choice, options, repairs)
    conversation = build_conversation(req.messages, target, signatures, repairs)
    body: dict[str, Any] = {"contents": conversation.contents}
    if conversation.system_instruction:
        body["systemInstruction"] = conversation.system_instruction
    if toolset.tools:
        body["tools"] = toolset.tools
    if toolset.tool_config:
        body["toolConfig"] = toolset.tool_config
    config = generation_config(req, target, options, conversation.media_resolution, repairs)
    if config:
        body["generationConfig"] = config
    body.update(request_settings(req, options))
    return VertexCall(
        body=body,
        stream=req.stream,
        include_usage=req.include_usage,
        n=req.n or 1,
        tool_names=toolset.tool_names,
        custom_tools=toolset.custom_tools,
        repairs=repairs,
    )
