"""Responses-API-shaped bodies POSTed to /chat/completions (a Cursor 2026 bug) -> the Chat Completions shape.

Cursor sometimes sends `input` items instead of `messages` yet expects Chat Completions output back
(clients.md §1.4 b, Body C). `to_chat_body` rewrites such a body into the Chat Completions dict that
`ChatRequest` validates; everything else about the request then works as usual.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .errors import InvalidRequestError
from .openai_types import Model, describe_validation_error


def is_responses_body(data: dict[str, Any]) -> bool:
    return "input" in data and "messages" not in data


class MessageItem(Model):
    role: str
    content: str | list[dict[str, Any]] | None = None


class FunctionCallItem(Model):
    call_id: str
    name: str
    arguments: str = "{}"


class CustomCallItem(Model):
    call_id: str
    name: str
    input: str = ""


class CallOutputItem(Model):
    call_id: str
    output: str | list[dict[str, Any]] = ""


def _message(item: MessageItem) -> dict[str, Any]:
    content = item.content
    if isinstance(content, list):
        content = [_part(part) for part in content]
    return {"role": item.role, "content": content}


def _function_call(item: FunctionCallItem) -> dict[str, Any]:
    call = {"id": item.call_id, "type": "function", "function": {"name": item.name, "arguments": item.arguments}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _custom_call(item: CustomCallItem) -> dict[str, Any]:
    call = {"id": item.call_id, "type": "custom", "custom": {"name": item.name, "input": item.input}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _call_output(item: CallOutputItem) -> dict[str, Any]:
    output = item.output
    if isinstance(output, list):
        output = [_part(part) for part in output]
    return {"role": "tool", "tool_call_id": item.call_id, "content": output}


# item type -> (model, converter). Consecutive assistant items are merged later, in `messages`.
# Other items (OpenAI's encrypted `reasoning`, `item_reference`, built-in tool calls) carry nothing Gemini
# can use and are skipped.
_ITEMS: dict[str, tuple[type[Model], Any]] = {
    "message": (MessageItem, _message),
    "function_call": (FunctionCallItem, _function_call),
    "custom_tool_call": (CustomCallItem, _custom_call),
    "function_call_output": (CallOutputItem, _call_output),
    "custom_tool_call_output": (CallOutputItem, _call_output),
}


def _image(part: dict[str, Any]) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": part.get("image_url") or "", "detail": part.get("detail")}}


def _file(part: dict[str, Any]) -> dict[str, Any]:
    keys = ("file_data", "file_id", "filename")
    return {"type": "file", "file": {key: part[key] for key in keys if key in part}}


_PARTS = {"input_image": _image, "input_file": _file}


def _part(part: Any) -> Any:
    """Responses content parts -> Chat parts; text types are accepted by `ChatRequest` as they are."""
    convert = _PARTS.get(part.get("type")) if isinstance(part, dict) else None
    return convert(part) if convert else part


def _items_to_messages(items: str | list[Any]) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise InvalidRequestError("'input' must be a string or an array of items", param="input")
    messages = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequestError(f"input[{index}] must be an object", param=f"input[{index}]")
        item_type = item.get("type", "message" if "role" in item else None)
        if item_type not in _ITEMS:
            continue
        model, convert = _ITEMS[item_type]
        try:
            messages.append(convert(model.model_validate(item)))
        except ValidationError as exc:
            raise InvalidRequestError(f"input[{index}].{describe_validation_error(exc)}", param="input") from None
    return messages


def _response_format(text: Any) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return fmt if isinstance(fmt, dict) else None
    inner = {key: fmt[key] for key in ("name", "description", "schema", "strict") if key in fmt}
    return {"type": "json_schema", "json_schema": inner}


def to_chat_body(data: dict[str, Any]) -> dict[str, Any]:
    """A Responses-shaped body as the Chat Completions body it stands for (unknown keys left for pydantic to drop)."""
    chat = dict(data)
    messages = _items_to_messages(chat.pop("input"))
    instructions = chat.pop("instructions", None)
    if instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    chat["messages"] = messages
    reasoning = chat.pop("reasoning", None)
    if isinstance(reasoning, dict) and reasoning.get("effort") and "reasoning_effort" not in chat:
        chat["reasoning_effort"] = reasoning["effort"]
    response_format = _response_format(chat.pop("text", None))
    if response_format and "response_format" not in chat:
        chat["response_format"] = response_format
    if "max_output_tokens" in chat:
        chat.setdefault("max_completion_tokens", chat.pop("max_output_tokens"))
    return chat
