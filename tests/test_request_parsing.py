"""parse_request: what real clients send is accepted; what cannot be translated is a clear 400."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from translators.errors import InvalidRequestError
from translators.openai_types import ChatRequest, FilePart, ImagePart, TextPart
from translators.request import parse_request

CLIENTS = Path(__file__).parent / "fixtures" / "clients"


def body(**fields) -> bytes:
    fields.setdefault("model", "vx-gemini-2.5-flash")
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return json.dumps(fields).encode()


def rejected(raw: bytes) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        parse_request(raw)
    assert info.value.status == 400
    assert "pydantic" not in info.value.message and "errors.pydantic.dev" not in info.value.message
    return info.value


# --- the body as a whole -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"model": "m", "messages": [', "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        ('{"model": "m", "messages": []}'.encode("utf-16"), "UTF-8"),
        (b'{"model": "caf\xe9"}', "UTF-8"),
    ],
)
def test_malformed_bodies_are_400_with_a_plain_reason(raw, words):
    assert words in rejected(raw).message


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"model": None}, "model"),
        ({"model": ""}, "model"),
        ({"messages": None}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]}, "messages[1].role"),
        ({"messages": [{"content": "no role"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"n": 9}, "n"),
        ({"n": 0}, "n"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": "warm"}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"tools": [{"type": "function"}]}, "tools[0]"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}]},
            "messages[0].tool_calls[0]",
        ),
    ],
)
def test_invalid_fields_are_named_in_the_error(fields, path):
    error = rejected(body(**fields))
    assert error.param == path
    assert f"{path}:" in error.message


def test_missing_model_is_reported_without_a_pydantic_dump():
    error = rejected(json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode())
    assert error.message == "Invalid request: model: Field required"


def test_more_than_128_tools_is_rejected():
    tools = [{"type": "function", "function": {"name": f"t{i}"}} for i in range(129)]
    assert rejected(body(tools=tools)).param == "tools"


def test_unknown_content_part_type_names_message_index_and_type():
    messages = [
        {"role": "user", "content": "first"},
        {"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "video_url", "video_url": "x"}]},
    ]
    error = rejected(body(messages=messages))
    assert error.param == "messages[1].content"
    assert "content part 1" in error.message and "'video_url'" in error.message


def test_malformed_known_part_names_the_part():
    messages = [{"role": "user", "content": [{"type": "image_url"}]}]
    error = rejected(body(messages=messages))
    assert "content part 0 (image_url)" in error.message and "image_url" in error.message


# --- liberal acceptance ------------------------------------------------------------------------------


def test_unknown_optional_fields_are_ignored():
    req = parse_request(
        body(
            user="github|user_1",
            store=False,
            metadata={"a": "b"},
            prediction={"type": "content", "content": "x"},
            service_tier="auto",
            logit_bias={"1": 2},
            modalities=["text"],
            some_future_field={"x": 1},
            stream_options={"include_usage": True, "future": 1},
            messages=[{"role": "user", "content": "hi", "cache_control": {"type": "ephemeral"}}],
        )
    )
    assert req.user == "github|user_1"
    assert req.include_usage is True


def test_every_role_and_content_shape_is_accepted():
    messages = [
        {"role": "system", "content": "s"},
        {"role": "developer", "content": [{"type": "text", "text": "d"}]},
        {"role": "user", "name": "alice", "content": [{"type": "text", "text": "u"}]},
        {"role": "assistant", "content": [], "tool_calls": [
            {"id": "call_1", "index": 0, "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "name": "f", "content": [{"type": "text", "text": "r"}]},
        {"role": "assistant", "content": None},
        {"role": "assistant", "content": ""},
        {"role": "function", "name": "f", "content": "legacy"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
        {"role": "user", "content": {"type": "text", "text": "a lone part object"}},
    ]
    req = parse_request(body(messages=messages))
    assert [m.role for m in req.messages] == [m["role"] for m in messages]
    assert req.messages[3].content == []
    assert req.messages[3].tool_calls[0].function.name == "f"
    assert req.messages[9].content[0].text == "a lone part object"


def test_content_parts_are_typed():
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "high"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
    ]}]
    parts = parse_request(body(messages=messages)).messages[0].content
    assert [type(p) for p in parts] == [TextPart, ImagePart, FilePart]
    assert parts[1].image_url.detail == "high"


def test_stop_may_be_a_string_or_a_list():
    assert parse_request(body(stop="END")).stop == "END"
    assert parse_request(body(stop=["a", "b"])).stop == ["a", "b"]


def test_reasoning_effort_accepts_cursor_xhigh_in_any_case():
    assert parse_request(body(reasoning_effort="XHigh")).reasoning_effort == "xhigh"


def test_google_extra_body_accepts_snake_and_camel_keys():
    req = parse_request(body(google={"thinkingConfig": {"thinkingBudget": 5}, "safety_settings": [], "cachedContent": "c"}))
    assert req.google.thinking_config == {"thinkingBudget": 5}
    assert req.google.cached_content == "c"


def test_legacy_functions_become_tools():
    req = parse_request(body(functions=[{"name": "f", "parameters": {"type": "object"}}], function_call={"name": "f"}))
    assert req.tools[0].function.name == "f"
    assert req.tool_choice == {"type": "function", "function": {"name": "f"}}


def test_flat_and_custom_tools_in_a_chat_body_are_accepted():
    """archestra#7375: Cursor sends the flat custom ApplyPatch tool inside /chat/completions."""
    tools = [
        {"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}},
        {"type": "function", "name": "flat", "parameters": {"type": "object"}},
        {"type": "custom", "name": "ApplyPatch", "format": {"type": "grammar", "syntax": "lark", "definition": "x"}},
        {"type": "custom", "custom": {"name": "Nested", "description": "d"}},
        {"type": "web_search"},
    ]
    req = parse_request(body(tools=tools))
    assert [t.function.name for t in req.tools[:2]] == ["read", "flat"]
    assert [t.custom.name for t in req.tools[2:4]] == ["ApplyPatch", "Nested"]
    assert req.tools[4].type == "web_search"


def test_real_cursor_chat_bodies_parse():
    for name in ("body_a_cursor_plan_first_turn.json", "body_b_cursor_tool_results.json"):
        req = parse_request((CLIENTS / name).read_bytes())
        assert isinstance(req, ChatRequest) and req.stream is True


# --- Responses-shaped bodies (Cursor 2026, clients.md Body C) ------------------------------------------


def test_pain14_responses_shaped_body_becomes_a_chat_request():
    req = parse_request((CLIENTS / "body_c_cursor_responses_shape.json").read_bytes())
    assert [m.role for m in req.messages] == ["developer", "user", "assistant", "tool"]
    assert req.messages[0].content[0].text.startswith("You are an AI coding assistant")
    call = req.messages[2].tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_abc123", "ReadFile", '{"path":"/repo/tests/test_x.py"}')
    assert req.messages[3].tool_call_id == "call_abc123"
    assert [t.type for t in req.tools] == ["function", "function", "custom"]
    assert req.tools[2].custom.format["syntax"] == "lark"
    assert req.reasoning_effort == "medium"
    assert req.stream is True and req.include_usage is True


def test_responses_instructions_string_input_and_options():
    req = parse_request(json.dumps({
        "model": "m", "instructions": "Be brief.", "input": "Hello",
        "max_output_tokens": 99, "text": {"format": {"type": "json_schema", "name": "x",
                                                     "schema": {"type": "object"}}},
        "tool_choice": {"type": "function", "name": "f"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    }).encode())
    assert [(m.role, m.content) for m in req.messages] == [("system", "Be brief."), ("user", "Hello")]
    assert req.max_completion_tokens == 99
    assert req.response_format.json_schema.json_schema == {"type": "object"}
    assert req.tool_choice == {"type": "function", "name": "f"}  # tools.py reads the flat form too


def test_responses_items_custom_calls_images_and_skipped_reasoning():
    req = parse_request(json.dumps({"model": "m", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "see"},
                                     {"type": "input_image", "image_url": "https://x/a.png", "detail": "low"}]},
        {"type": "reasoning", "encrypted_content": "gAAAA", "summary": []},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "patching"}]},
        {"type": "custom_tool_call", "call_id": "call_p", "name": "ApplyPatch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done"},
    ]}).encode())
    assert [m.role for m in req.messages] == ["user", "assistant", "assistant", "tool"]
    assert req.messages[0].content[1].image_url.url == "https://x/a.png"
    custom = req.messages[2].tool_calls[0]
    assert custom.custom.name == "ApplyPatch" and custom.custom.input == "*** Begin Patch"


def test_responses_item_errors_name_the_input_item():
    error = rejected(json.dumps({"model": "m", "input": [
        {"type": "message", "role": "user", "content": "x"},
        {"type": "function_call", "call_id": "c"},
    ]}).encode())
    assert "input[1].name" in error.message
