"""OpenAI `messages` -> Vertex `contents` + `systemInstruction`, repairing what Gemini would reject.

- system / developer messages -> one `systemInstruction` (texts joined with a blank line).
- user / assistant -> `user` / `model` turns; consecutive same-role turns merge, so turns alternate.
- assistant `tool_calls` -> `functionCall` parts (arguments parsed; a non-object value becomes
  `{"value": …}`); consecutive assistant messages form one model turn.
- tool results -> ONE user turn right after the call turn, one `functionResponse` per call in the
  calls' order. The function name comes from the call (found by `tool_call_id`; most clients omit
  `name`). The response is always `{"output": "<the tool message text, verbatim>"}`: an object as
  Vertex requires, and no guessing whether a string that looks like JSON was meant as JSON. Images in
  a tool result follow the responses as sibling parts.

Repairs (each noted in `repairs`): empty assistant messages are dropped; a result whose call is
unknown becomes user text; a call without a result gets `{"output": "(no result)"}`; a history that
starts with the model gets a leading user turn; a user turn holding only media gets a text part; a
leading `<think>…</think>` block (reasoning shown as think tags) is not sent back as answer text.

Thought signatures come back from the `SignatureStore` (by tool_call_id, else by name+arguments; text
parts by their text). On Gemini 3 the first call of a model turn without a stored signature gets
Vertex's documented bypass value instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .content_parts import PartTranslator, highest_level, text_of
from .context import ModelTarget
from .errors import InvalidRequestError
from .openai_types import FunctionCall, Message, ToolCall
from .signatures import BYPASS_SIGNATURE, SignatureStore, text_key
from .tools import CUSTOM_INPUT, vertex_name
from .vertex_types import Content, Part

SYSTEM_ROLES = frozenset({"system", "developer"})
TOOL_ROLES = frozenset({"tool", "function"})  # `function`: legacy results, matched by name
NO_RESULT = "(no result)"
LEADING_USER_TEXT = "(The conversation so far:)"
MEDIA_ONLY_TEXT = "(see attachment)"
# Thoughts shown to the client as `<think>…</think>` (reasoning_output "think_tags") are not sent back as text.
THINK_BLOCK = re.compile(r"\s*<think>.*?</think>\s*", re.DOTALL)


@dataclass
class Conversation:
    contents: list[Content]
    system_instruction: Content | None = None
    media_resolution: str | None = None  # request-level resolution (models before Gemini 3)


@dataclass(slots=True)
class _Call:
    id: str | None
    name: str  # the client's name
    args: dict[str, Any]
    result: Message | None = None
    result_index: int = -1


def build_conversation(
    messages: list[Message], target: ModelTarget, signatures: SignatureStore | None, repairs: list[str]
) -> Conversation:
    return _Builder(target, signatures, repairs).build(messages)


class _Builder:
    def __init__(self, target: ModelTarget, signatures: SignatureStore | None, repairs: list[str]) -> None:
        self.target = target
        self.signatures = signatures
        self.repairs = repairs
        self.send_ids = target.is_gemini3 and target.api_version == "v1beta1"
        self.parts = PartTranslator(per_part_resolution=target.is_gemini3)
        self.contents: list[Content] = []

    def build(self, messages: list[Message]) -> Conversation:
        calls_by_message, orphans = _pair_results(messages, self.repairs)
        pending: list[_Call] = []  # calls of the current model turn, answered when the turn ends
        for index, message in enumerate(messages):
            where = f"messages[{index}]"
            if message.role in SYSTEM_ROLES:
                continue
            if message.role == "assistant":
                calls = calls_by_message.get(index, [])
                parts = self._text_parts(message, where) + self._call_parts(calls, first=not pending)
                if not parts:
                    self.repairs.append(f"dropped empty assistant message {where}")
                self._add("model", parts, where)
                pending += calls
                continue
            self._answer(pending)
            if message.role == "user":
                self._add("user", self.parts.parts(message.content, where), where)
            elif index in orphans:
                self.repairs.append(f"{where}: tool result without a matching call sent as user text")
                self._add("user", [{"text": _orphan_text(message)}], where)
        self._answer(pending)
        self._finish()
        system = _system_instruction(messages)
        if not self.contents:
            if system is None:
                raise InvalidRequestError("messages hold no text or media to send", param="messages")
            self.contents, system = [{"role": "user", "parts": system["parts"]}], None
            self.repairs.append("only system messages: sent the system prompt as the user turn")
        return Conversation(self.contents, system, highest_level(self.parts.details))

    def _add(self, role: str, parts: list[Part], where: str) -> None:
        if not parts:
            return
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
            self.repairs.append(f"merged {where} into the previous {role} turn")
        else:
            self.contents.append({"role": role, "parts": parts})  # type: ignore[typeddict-item]

    def _text_parts(self, message: Message, where: str) -> list[Part]:
        text = text_of(message.content)
        if text.lstrip().startswith("<think>"):
            text = THINK_BLOCK.sub("", text, count=1)
            self.repairs.append(f"{where}: left out the <think> block")
        if not text:
            return []
        part: Part = {"text": text}
        signature = self.signatures.get(text_key(text)) if self.signatures else None
        if signature:
            part["thoughtSignature"] = signature
        return [part]

    def _call_parts(self, calls: list[_Call], first: bool) -> list[Part]:
        parts: list[Part] = []
        for call in calls:
            function_call: dict[str, Any] = {"name": vertex_name(call.name), "args": call.args}
            if self.send_ids and call.id:
                function_call["id"] = call.id
            part: Part = {"functionCall": function_call}  # type: ignore[typeddict-item]
            signature = self.signatures.lookup_call(call.id, call.name, call.args) if self.signatures else None
            if signature is None and first and self.target.is_gemini3:
                signature = BYPASS_SIGNATURE
                self.repairs.append(f"no stored thought signature for call {call.id or call.name}: sent the bypass")
            if signature:
                part["thoughtSignature"] = signature
            parts.append(part)
            first = False
        return parts

    def _answer(self, pending: list[_Call]) -> None:
        """Close a model turn: one functionResponse per call, in order, then any media from the results."""
        if not pending:
            return
        responses: list[Part] = []
        media: list[Part] = []
        for call in pending:
            if call.result is None:
                output = NO_RESULT
                self.repairs.append(f"call {call.id or call.name} had no result: sent {NO_RESULT!r}")
            else:
                output = text_of(call.result.content)
                where = f"messages[{call.result_index}]"
                media += [part for part in self.parts.parts(call.result.content, where) if "text" not in part]
            function_response: dict[str, Any] = {"name": vertex_name(call.name), "response": {"output": output}}
            if self.send_ids and call.id:
                function_response["id"] = call.id
            responses.append({"functionResponse": function_response})  # type: ignore[typeddict-item]
        self._add("user", responses + media, "tool results")
        pending.clear()

    def _finish(self) -> None:
        if self.contents and self.contents[0]["role"] == "model":
            self.contents.insert(0, {"role": "user", "parts": [{"text": LEADING_USER_TEXT}]})
            self.repairs.append("history started with the model: added a leading user turn")
        for content in self.contents:
            parts = content["parts"]
            if content["role"] == "user" and not any("text" in p or "functionResponse" in p for p in parts):
                parts.append({"text": MEDIA_ONLY_TEXT})
                self.repairs.append("a user turn holding only media got a text part")


def _system_instruction(messages: list[Message]) -> Content | None:
    texts = [text_of(m.content) for m in messages if m.role in SYSTEM_ROLES]
    text = "\n\n".join(t for t in texts if t)
    return {"parts": [{"text": text}]} if text else None


def _pair_results(messages: list[Message], repairs: list[str]) -> tuple[dict[int, list[_Call]], set[int]]:
    """Find each tool result's call: by `tool_call_id`; failing that (no or rewritten ids), by name or
    position among the unanswered calls of the model turn the result directly follows."""
    calls_by_message: dict[int, list[_Call]] = {}
    by_id: dict[str, list[_Call]] = {}
    step: list[_Call] = []  # calls of the latest model turn, while only tool results follow it
    in_model_turn = False
    orphans: set[int] = set()
    for index, message in enumerate(messages):
        if message.role == "assistant":
            calls = _calls_of(message, index)
            if not in_model_turn:
                step = []
            in_model_turn = True
            step += calls
            if calls:
                calls_by_message[index] = calls
            for call in calls:
                if call.id:
                    by_id.setdefault(call.id, []).append(call)
        elif message.role in TOOL_ROLES:
            in_model_turn = False
            call = _match(message, by_id, step, repairs, index)
            if call is None:
                orphans.add(index)
            else:
                call.result, call.result_index = message, index
        elif message.role == "user":
            in_model_turn, step = False, []
    return calls_by_message, orphans


def _match(message: Message, by_id: dict[str, list[_Call]], step: list[_Call], repairs: list[str],
           index: int) -> _Call | None:
    if message.tool_call_id in by_id:
        return next((call for call in by_id[message.tool_call_id] if call.result is None), None)
    open_calls = [call for call in step if call.result is None and message.name in (None, call.name)]
    if open_calls:
        how = "name" if message.name else "position"
        repairs.append(f"messages[{index}]: result matched to call {open_calls[0].name!r} by {how}")
        return open_calls[0]
    return None


def _calls_of(message: Message, index: int) -> list[_Call]:
    calls = [_tool_call(tool_call, f"messages[{index}].tool_calls[{position}]")
             for position, tool_call in enumerate(message.tool_calls or ())]
    if message.function_call is not None:  # legacy single call
        calls.append(_function_call(None, message.function_call, f"messages[{index}].function_call"))
    return calls


def _tool_call(tool_call: ToolCall, where: str) -> _Call:
    if tool_call.custom is not None:
        return _Call(tool_call.id, tool_call.custom.name, {CUSTOM_INPUT: tool_call.custom.input})
    return _function_call(tool_call.id, tool_call.function, f"{where}.function")  # type: ignore[arg-type]


def _function_call(call_id: str | None, function: FunctionCall, where: str) -> _Call:
    return _Call(call_id, function.name, _parse_arguments(function.arguments, f"{where}.arguments"))


def _parse_arguments(arguments: str | dict[str, Any] | None, where: str) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if not arguments or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError as exc:
        message = f"{where} is not valid JSON ({exc.msg} at position {exc.pos})"
        raise InvalidRequestError(message, param=where) from None
    return value if isinstance(value, dict) else {"value": value}


def _orphan_text(message: Message) -> str:
    reference = f" ({message.tool_call_id})" if message.tool_call_id else ""
    return f"[Result of {message.name or 'a tool call'}{reference}]\n{text_of(message.content)}"
