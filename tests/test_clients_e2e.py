"""End to end, real client traffic: Cursor / Cline / Roo bodies, tool schemas, thinking, structured output,
usage and blocked prompts, through the real proxy against the strict Vertex emulator.

Schema-heavy bodies run twice: through the default proxy (tool schemas as `parametersJsonSchema`) and
through a second proxy started with `VERTEX_BRIDGE_SCHEMA_MODE=openapi`, so the sanitized OpenAPI
`parameters` path is checked by the emulator's strict Schema validation too. That proxy also shows
reasoning as `<think>` tags (`VERTEX_BRIDGE_REASONING_OUTPUT=think_tags`) for the think-tag tests.
Test names `test_painN_…` refer to the user pain points in shared/reference/peers.md (b).
"""

from __future__ import annotations

import base64
import functools
import json
import os
from pathlib import Path

import openai
import pytest
import requests
from conftest import API_KEY, accepted, proxy_env
from proxy_process import ProxyProcess
from pydantic import BaseModel
from vertex_emulator import Reply
from vertex_emulator.signatures import BYPASS

FLASH = "gemini-2.5-flash"
GEMINI3_FLASH = "gemini-3-flash-preview"
CURSOR_MODEL = "vertex/gemini-2.5-flash"  # what a Cursor user adds (gemini-* ids never reach a custom URL)
AUTH = {"Authorization": f"Bearer {API_KEY}"}
CLIENT_BODIES = Path(__file__).parent / "fixtures" / "clients"
MODES = ["json_schema", "openapi"]

# --- fixtures and helpers ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def alt_proxy(emulator, service_account):
    """A second proxy with the other settings: OpenAPI tool schemas and `<think>` tags for reasoning
    (one process for both, as no test here depends on the two together; each start costs seconds)."""
    env = proxy_env(emulator, service_account, VERTEX_BRIDGE_SCHEMA_MODE="openapi",
                    VERTEX_BRIDGE_REASONING_OUTPUT="think_tags")
    proc = ProxyProcess(env).wait_ready()
    yield proc
    proc.stop()


@pytest.fixture(params=MODES)
def mode_proxy(request, proxy):
    """(mode, proxy): the default proxy, then the one started with the openapi schema mode."""
    chosen = proxy if request.param == "json_schema" else request.getfixturevalue("alt_proxy")
    return request.param, chosen


@functools.cache
def sdk_for(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)


def sdk(proxy) -> openai.OpenAI:
    """One SDK client per proxy (building one takes ~70 ms)."""
    return sdk_for(proxy.url)


@pytest.fixture
def client(proxy):
    return sdk(proxy)


@pytest.fixture
def own_client(proxy):
    """A client on its own connection, so that a stream that ends early cannot disturb the next test's."""
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30) as own:
        yield own


def load_body(name: str, model: str = CURSOR_MODEL) -> dict:
    body = json.loads((CLIENT_BODIES / name).read_text())
    body = {key: value for key, value in body.items() if not key.startswith("_")}
    body["model"] = model
    return body



def post(proxy, body: dict) -> requests.Response:
    return requests.post(proxy.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=30)


def stream_chunks(proxy, body: dict) -> list[dict]:
    """The chunks of a streamed reply, checked to be well-formed Chat Completions SSE ending in [DONE]."""
    resp = post(proxy, body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = resp.text.replace("\r\n", "\n").split("\n\n")  # `: ping` comments are skipped below
    payloads = [event[len("data: "):] for event in events if event.startswith("data: ")]
    assert payloads and payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == body["model"] for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    return chunks


def finish_reasons(chunks: list[dict]) -> list[str]:
    return [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]


def streamed_text(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def streamed_calls(chunks: list[dict]) -> list[dict]:
    """Tool calls accumulated from the deltas: [{"name", "arguments"}] by index."""
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for tc in (chunk["choices"][0]["delta"].get("tool_calls") if chunk["choices"] else None) or ():
            call = calls.setdefault(tc["index"], {"name": "", "arguments": ""})
            call["name"] += tc.get("function", {}).get("name") or ""
            call["arguments"] += tc.get("function", {}).get("arguments") or ""
    return [calls[i] for i in sorted(calls)]


def declarations(body: dict) -> list[dict]:
    return [d for t in body.get("tools", []) for d in t.get("functionDeclarations", [])]


def assert_schema_path(mode: str, body: dict, tool_count: int) -> None:
    """Every client tool was declared, each schema through the path the proxy's mode selects."""
    declared = declarations(body)
    assert len(declared) == tool_count
    used = {key for d in declared for key in ("parameters", "parametersJsonSchema") if key in d}
    assert used == {"parametersJsonSchema" if mode == "json_schema" else "parameters"}


# --- Cursor bodies (clients.md §5) ---------------------------------------------------------------------
def test_pain14_cursor_body_a_plan_turn_streams_a_tool_call(mode_proxy, emulator):
    mode, proxy = mode_proxy
    body = load_body("body_a_cursor_plan_first_turn.json")
    plan = {"name": "Arithmetic", "plan": "Add the numbers.", "todos": [{"id": "1", "content": "Compute 2 + 2"}]}
    emulator.queue(Reply.function_call("create_plan", plan))
    chunks = stream_chunks(proxy, body)
    sent = accepted(emulator)
    assert_schema_path(mode, sent, len(body["tools"]))
    assert sent["generationConfig"]["temperature"] == 0
    assert [c["role"] for c in sent["contents"]] == ["user"]  # the two consecutive user messages merged
    assert "what is 2 + 2?" in json.dumps(sent["contents"])
    assert finish_reasons(chunks) == ["tool_calls"]
    [call] = streamed_calls(chunks)
    assert call["name"] == "create_plan" and json.loads(call["arguments"]) == plan


def test_pain14_cursor_body_b_tool_results_and_empty_assistant(mode_proxy, emulator):
    mode, proxy = mode_proxy
    body = load_body("body_b_cursor_tool_results.json")
    chunks = stream_chunks(proxy, body)
    sent = accepted(emulator)
    assert_schema_path(mode, sent, len(body["tools"]))
    responses = [p["functionResponse"] for c in sent["contents"] for p in c["parts"] if "functionResponse" in p]
    assert [r["name"] for r in responses] == ["edit_file", "run_terminal_cmd"]
    assert "no result from tool" in responses[1]["response"]["output"]
    assert "请使用 antd 的组件" in sent["contents"][-1]["parts"][-1]["text"]
    assert finish_reasons(chunks) == ["stop"] and streamed_text(chunks)


def test_pain1_cursor_body_b_on_gemini3_passes_the_signature_check(proxy, emulator):
    """Cursor history with call ids this proxy never issued, sent to a Gemini 3 model."""
    emulator.configure(signatures_whole_history=True)
    chunks = stream_chunks(proxy, load_body("body_b_cursor_tool_results.json", f"vertex/{GEMINI3_FLASH}"))
    sent = accepted(emulator)
    calls = [p for c in sent["contents"] for p in c["parts"] if "functionCall" in p]
    assert len(calls) == 2 and all(p.get("thoughtSignature") for p in calls)
    assert finish_reasons(chunks) == ["stop"]


def test_pain14_cursor_body_c_responses_shape_gets_chat_completions_chunks(mode_proxy, emulator):
    mode, proxy = mode_proxy
    body = load_body("body_c_cursor_responses_shape.json")
    patch = "*** Begin Patch\n*** Update File: tests/test_x.py\n@@\n-assert 1 == 2\n+assert 1 == 1\n*** End Patch\n"
    emulator.queue(Reply.function_call("ApplyPatch", {"input": patch}))
    chunks = stream_chunks(proxy, body)
    sent = accepted(emulator)
    assert_schema_path(mode, sent, len(body["tools"]))
    assert "fix the failing test" in sent["contents"][0]["parts"][0]["text"]
    assert "AI coding assistant" in sent["systemInstruction"]["parts"][0]["text"]
    [result] = [p["functionResponse"] for c in sent["contents"] for p in c["parts"] if "functionResponse" in p]
    assert result["name"] == "ReadFile" and "import pytest" in result["response"]["output"]
    apply_patch = next(d for d in declarations(sent) if d["name"] == "ApplyPatch")
    assert "start: begin_patch" in apply_patch["description"]  # the grammar reaches the model

    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert finish_reasons(chunks) == ["tool_calls"]
    [call] = streamed_calls(chunks)
    assert call["name"] == "ApplyPatch" and patch in json.loads(call["arguments"]).values()
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] > 0  # stream_options.include_usage


@pytest.mark.parametrize("item_type", ["function_call", "custom_tool_call"])
def test_pain1_cursor_responses_shape_agent_loop_on_gemini3(proxy, emulator, item_type):
    """Cursor's Responses-shaped body on a Gemini 3 model: the ApplyPatch call the proxy returned comes
    back as a Responses item (function or custom call); its thought signature must come back with it."""
    emulator.configure(signatures_whole_history=True)
    patch = f"*** Begin Patch\n*** Add File: notes/{os.urandom(4).hex()}.md\n+hello\n*** End Patch\n"
    emulator.queue(Reply.function_call("ApplyPatch", {"input": patch}))
    body = load_body("body_c_cursor_responses_shape.json", f"vertex/{GEMINI3_FLASH}")
    chunks = stream_chunks(proxy, body)
    call_id = next(tc["id"] for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or ()
                   if tc.get("id"))
    [read_file] = [p for c in accepted(emulator)["contents"] for p in c["parts"] if "functionCall" in p]
    assert read_file["thoughtSignature"] == BYPASS  # Cursor's earlier call was never issued by this proxy

    item = ({"type": "function_call", "call_id": call_id, "name": "ApplyPatch",
             "arguments": json.dumps({"input": patch})} if item_type == "function_call"
            else {"type": "custom_tool_call", "call_id": call_id, "name": "ApplyPatch", "input": patch})
    output_type = "function_call_output" if item_type == "function_call" else "custom_tool_call_output"
    body["input"] += [item, {"type": output_type, "call_id": call_id, "output": "Done!"}]
    stream_chunks(proxy, body)
    calls = [p for c in accepted(emulator)["contents"] for p in c["parts"] if "functionCall" in p]
    assert [p["functionCall"]["name"] for p in calls] == ["ReadFile", "ApplyPatch"]
    assert calls[1]["functionCall"]["args"] == {"input": patch}
    assert emulator.emulator.signatures.knows(calls[1]["thoughtSignature"])
    assert calls[1]["thoughtSignature"] != BYPASS


def test_pain14_cursor_validated_tool_choice_and_empty_content_list(proxy, emulator):
    """litellm#21067 (`tool_choice: "validated"` raised) and archestra#7375 (`content: []` on a call turn)."""
    call = {"id": "call_cursor000000000000001", "type": "function",
            "function": {"name": "read_file", "arguments": '{"target_file": "a.py"}'}}
    body = {"model": CURSOR_MODEL, "stream": True, "stream_options": {"include_usage": True},
            "user": "github|user_mock", "tool_choice": "validated", "temperature": 0,
            "tools": load_body("body_b_cursor_tool_results.json")["tools"],
            "messages": [{"role": "user", "content": "read a.py"},
                         {"role": "assistant", "content": [], "tool_calls": [call]},
                         {"role": "tool", "name": "read_file", "tool_call_id": call["id"], "content": "x = 1"}]}
    chunks = stream_chunks(proxy, body)
    sent = accepted(emulator)
    assert sent["toolConfig"]["functionCallingConfig"]["mode"] == "VALIDATED"
    assert finish_reasons(chunks) == ["stop"]


# --- Cline / Roo tool schemas -------------------------------------------------------------------------
def test_pain5_cline_zod4_schemas_pass_strict_validation(mode_proxy, emulator):
    mode, proxy = mode_proxy
    body = load_body("cline_zod4_native_tools.json", FLASH)
    emulator.queue(Reply.function_call("read_files", {"paths": ["src/cli.ts"], "start_line": 3, "end_line": None}))
    chunks = stream_chunks(proxy, body)
    sent = accepted(emulator)
    assert_schema_path(mode, sent, len(body["tools"]))
    assert "$schema" not in json.dumps(declarations(sent))
    [call] = streamed_calls(chunks)
    assert call["name"] == "read_files" and json.loads(call["arguments"])["start_line"] == 3
    assert finish_reasons(chunks) == ["tool_calls"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] > 0


def test_pain5_roo_strict_tools_type_arrays_refs_and_images(mode_proxy, emulator):
    mode, proxy = mode_proxy
    body = load_body("roo_strict_tools.json", FLASH)
    issue = {"repo": {"owner": "acme", "name": "web"}, "issue": {"kind": "issue", "title": "Login button"}}
    emulator.queue(Reply.function_call("mcp--github--create_issue", issue))
    chunks = stream_chunks(proxy, body)
    sent = accepted(emulator)
    assert_schema_path(mode, sent, len(body["tools"]))
    mcp = next(d for d in declarations(sent) if d["name"] == "mcp--github--create_issue")
    assert "owner" in json.dumps(mcp)  # the $ref'd definition still reaches the model
    user = sent["contents"][0]
    assert any("inlineData" in p and p["inlineData"]["mimeType"] == "image/png" for p in user["parts"])
    responses = [p["functionResponse"] for c in sent["contents"] for p in c["parts"] if "functionResponse" in p]
    assert [r["name"] for r in responses] == ["read_file", "list_files"]  # tool messages had no name
    [call] = streamed_calls(chunks)
    assert call["name"] == "mcp--github--create_issue" and json.loads(call["arguments"]) == issue


TROUBLESOME = {
    "type": "object",
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://example.com/tool.json",
    "additionalProperties": False,
    "properties": {
        "mode": {"const": "fast"},
        "count": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 100, "default": 5},
        "ratio": {"type": ["number", "null"], "multipleOf": 0.5},
        "flag": {"type": "boolean", "enum": [True, False]},
        "env": {"type": "object", "propertyNames": {"pattern": "^[A-Z_]+$"},
                "patternProperties": {"^[A-Z_]+$": {"type": "string"}}},
        "target": {"oneOf": [{"$ref": "#/definitions/Path"}, {"type": "integer"}]},
        "merged": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}},
                             {"properties": {"b": {"type": "string"}}}]},
        "tags": {"type": "array", "uniqueItems": True, "minItems": 0, "items": {"type": "string", "format": "email"}},
        "anything": {},
        "nullable_enum": {"anyOf": [{"type": "string", "enum": ["", "a", "b"]}, {"type": "null"}]},
        "when": {"type": "string", "format": "date-time", "examples": ["2026-01-01T00:00:00Z"]},
    },
    "required": ["mode", "count"],
    "definitions": {"Path": {"type": "string", "minLength": 1, "title": "Path", "$comment": "relative"}},
}


def test_pain5_every_troublesome_schema_keyword_is_accepted(mode_proxy, emulator):
    mode, proxy = mode_proxy
    tools = [{"type": "function", "function": {"name": "configure", "parameters": TROUBLESOME, "strict": True}}]
    emulator.queue(Reply.function_call("configure", {"mode": "fast", "count": 3}))
    reply = sdk(proxy).chat.completions.create(model=FLASH, tools=tools,
                                               messages=[{"role": "user", "content": "configure it"}])
    assert_schema_path(mode, accepted(emulator), 1)
    assert json.loads(reply.choices[0].message.tool_calls[0].function.arguments) == {"mode": "fast", "count": 3}


def test_pain6_arrays_without_items_and_empty_parameter_objects(mode_proxy, emulator):
    """cline/cline#7339 (array without `items`) and litellm#18442 (schema "should be of type OBJECT")."""
    _, proxy = mode_proxy
    tools = [
        {"type": "function", "function": {"name": "list_tabs", "parameters": {"type": "object", "properties": {}}}},
        {"type": "function", "function": {"name": "get_time"}},
        {"type": "function", "function": {"name": "tag", "parameters": {
            "type": "object", "properties": {"labels": {"type": "array"}, "matrix": {"type": "array", "items": {
                "type": "array"}}}}}},
    ]
    emulator.queue(Reply.function_call("list_tabs", {}))
    reply = sdk(proxy).chat.completions.create(model=FLASH, tools=tools,
                                               messages=[{"role": "user", "content": "which tabs are open?"}])
    sent = accepted(emulator)
    assert [d["name"] for d in declarations(sent)] == ["list_tabs", "get_time", "tag"]
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "list_tabs" and json.loads(call.function.arguments) == {}


# --- thinking -----------------------------------------------------------------------------------------
def thinking_config(client, emulator, model: str, **kwargs) -> dict:
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "think"}], **kwargs)
    return accepted(emulator).get("generationConfig", {}).get("thinkingConfig", {})


def test_reasoning_effort_becomes_a_thinking_budget_on_gemini_25(client, emulator):
    budgets = {effort: thinking_config(client, emulator, FLASH, reasoning_effort=effort)
               for effort in ("none", "low", "medium", "high")}
    assert budgets["none"]["thinkingBudget"] == 0 and not budgets["none"].get("includeThoughts")
    low, medium, high = (budgets[e]["thinkingBudget"] for e in ("low", "medium", "high"))
    assert 0 < low < medium < high
    assert all(budgets[e]["includeThoughts"] is True and "thinkingLevel" not in budgets[e]
               for e in ("low", "medium", "high"))
    default = thinking_config(client, emulator, FLASH)  # no effort: the model's own default budget
    assert "thinkingBudget" not in default and "thinkingLevel" not in default


def test_reasoning_effort_becomes_a_thinking_level_on_gemini_3(client, emulator):
    for effort in ("low", "high"):
        config = thinking_config(client, emulator, GEMINI3_FLASH, reasoning_effort=effort)
        assert config == {"thinkingLevel": effort.upper(), "includeThoughts": True}


def test_google_thinking_config_passes_through(client, emulator):
    config = thinking_config(client, emulator, FLASH, extra_body={
        "google": {"thinking_config": {"thinking_budget": 2048, "include_thoughts": True}}})
    assert config == {"thinkingBudget": 2048, "includeThoughts": True}


@pytest.mark.parametrize("suffix, effort", [("-high", "high"), ("-thinking", "high"), ("-low", "low")])
def test_pain14_cursor_model_suffixes_become_a_reasoning_effort(client, emulator, suffix, effort):
    for base in (FLASH, GEMINI3_FLASH):
        expected = thinking_config(client, emulator, base, reasoning_effort=effort)
        reply = client.chat.completions.create(model=f"vertex/{base}{suffix}",
                                               messages=[{"role": "user", "content": "think"}])
        assert reply.model == f"vertex/{base}{suffix}"
        entry = [e for e in emulator.log if "generateContent" in e["path"]][-1]
        assert entry["status"] == 200 and entry["path"].endswith(f"/models/{base}:generateContent")
        assert entry["body"]["generationConfig"]["thinkingConfig"] == expected


THOUGHTS = ["**Planning**\nThe user wants the sum.", "**Checking**\n2 + 2 is 4."]


def test_pain12_thoughts_arrive_as_reasoning_content_never_in_content(client, emulator):
    emulator.queue(Reply.thinking(THOUGHTS, "The answer is 4.").with_usage(thoughtsTokenCount=37))
    reply = client.chat.completions.create(model=FLASH, messages=[{"role": "user", "content": "2 + 2?"}],
                                           reasoning_effort="low")
    message = reply.choices[0].message
    assert message.content == "The answer is 4."
    reasoning = message.model_extra["reasoning_content"]
    assert all(thought in reasoning for thought in THOUGHTS)
    assert reply.usage.completion_tokens_details.reasoning_tokens == 37
    assert reply.usage.completion_tokens >= 37

    emulator.queue(Reply.thinking(THOUGHTS, "The answer is 4.").with_usage(thoughtsTokenCount=37))
    chunks = list(client.chat.completions.create(
        model=FLASH, messages=[{"role": "user", "content": "2 + 2?"}], reasoning_effort="low", stream=True,
        stream_options={"include_usage": True}))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    streamed_reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
    assert streamed_reasoning == reasoning
    assert "".join(d.content or "" for d in deltas) == "The answer is 4."
    first_answer = next(i for i, d in enumerate(deltas) if d.content)
    last_thought = max(i for i, d in enumerate(deltas) if (d.model_extra or {}).get("reasoning_content"))
    assert last_thought < first_answer
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 37


@pytest.mark.parametrize("stream", [False, True])
def test_pain12_think_tags_mode_round_trips_on_gemini3(alt_proxy, emulator, stream):
    """Clients that only read `content` (gemini-balance#145) get `<think>` tags; when the client sends
    that content back, the thoughts are not replayed as answer text (koda#491) and Gemini 3's text
    signature is still found."""
    emulator.configure(signatures_whole_history=True)
    thought, answer = "**Planning**\nAdd the two numbers.", "The answer is 4."
    signature = base64.b64encode(os.urandom(32)).decode()
    events = [{"candidates": [{"content": {"role": "model", "parts": [{"text": thought, "thought": True}]}}]},
              {"candidates": [{"content": {"role": "model", "parts": [{"text": answer, "thoughtSignature": signature}]},
                               "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 4, "thoughtsTokenCount": 5,
                                 "totalTokenCount": 14}}]
    emulator.queue(Reply.sample(events))
    client = sdk(alt_proxy)
    messages: list[dict] = [{"role": "user", "content": "2 + 2?"}]
    if stream:
        chunks = list(client.chat.completions.create(model=GEMINI3_FLASH, messages=messages, stream=True))
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        content = client.chat.completions.create(model=GEMINI3_FLASH, messages=messages).choices[0].message.content
    assert content.startswith("<think>") and content.endswith(answer)
    assert thought in content.split("</think>")[0] and thought not in content.split("</think>")[1]

    messages += [{"role": "assistant", "content": content}, {"role": "user", "content": "and 3 + 3?"}]
    client.chat.completions.create(model=GEMINI3_FLASH, messages=messages)
    [model_turn] = [c for c in accepted(emulator)["contents"] if c["role"] == "model"]
    assert model_turn["parts"] == [{"text": answer, "thoughtSignature": signature}]


def test_older_gemini_models_get_openapi_schemas_and_no_thinking_config(proxy, emulator):
    """gemini-2.0 has no `parametersJsonSchema` and rejects any thinking_config, whatever the client asks."""
    body = load_body("roo_strict_tools.json", "vertex/gemini-2.0-flash-thinking")
    body["reasoning_effort"] = "high"
    chunks = stream_chunks(proxy, body)
    sent = accepted(emulator)
    assert_schema_path("openapi", sent, len(body["tools"]))
    assert "thinkingConfig" not in sent.get("generationConfig", {})
    assert finish_reasons(chunks) == ["stop"]


# --- structured output ----------------------------------------------------------------------------------
class Step(BaseModel):
    explanation: str
    output: str


class MathReasoning(BaseModel):
    steps: list[Step]
    final_answer: str


ANSWER = MathReasoning(steps=[Step(explanation="add", output="4")], final_answer="4")


def test_json_object_response_format(client, emulator):
    emulator.queue(Reply.text('{"sum": 4, "terms": [2, 2]}'))
    reply = client.chat.completions.create(model=FLASH, response_format={"type": "json_object"},
                                           messages=[{"role": "user", "content": "2 + 2 as JSON"}])
    assert json.loads(reply.choices[0].message.content) == {"sum": 4, "terms": [2, 2]}
    config = accepted(emulator)["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "responseJsonSchema" not in config and "responseSchema" not in config


def test_json_schema_with_sdk_parse_and_pydantic(mode_proxy, emulator):
    mode, proxy = mode_proxy
    emulator.queue(Reply.text(ANSWER.model_dump_json()))
    completion = sdk(proxy).chat.completions.parse(
        model=FLASH, response_format=MathReasoning, messages=[{"role": "user", "content": "solve 2 + 2"}])
    assert completion.choices[0].message.parsed == ANSWER
    config = accepted(emulator)["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema_key = "responseJsonSchema" if mode == "json_schema" else "responseSchema"
    assert set(config) & {"responseJsonSchema", "responseSchema"} == {schema_key}
    assert {"steps", "final_answer"} <= set(config[schema_key]["properties"])
    assert "explanation" in json.dumps(config[schema_key])  # the nested model ($defs) is described too


def test_json_schema_streamed_with_sdk_helper(client, emulator):
    emulator.queue(Reply.text(ANSWER.model_dump_json(), chunks=5))
    with client.chat.completions.stream(model=FLASH, response_format=MathReasoning,
                                        messages=[{"role": "user", "content": "solve 2 + 2"}]) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()
    assert {"content.delta", "content.done"} <= kinds
    assert final.choices[0].message.parsed == ANSWER
    assert "responseJsonSchema" in accepted(emulator)["generationConfig"]


# --- usage, blocked prompts -----------------------------------------------------------------------------
def test_cached_tokens_are_reported_in_both_modes(client, emulator):
    usage = {"promptTokenCount": 1500, "cachedContentTokenCount": 1024, "candidatesTokenCount": 4}
    emulator.queue(Reply.text("cached hello").with_usage(**usage))
    reply = client.chat.completions.create(model=FLASH, messages=[{"role": "user", "content": "hi"}])
    assert reply.usage.prompt_tokens == 1500
    assert reply.usage.prompt_tokens_details.cached_tokens == 1024

    emulator.queue(Reply.text("cached hello").with_usage(**usage))
    chunks = list(client.chat.completions.create(model=FLASH, messages=[{"role": "user", "content": "hi"}],
                                                 stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 1024


def test_pain11_stream_usage_matches_the_non_stream_usage(client, emulator):
    counts = {"promptTokenCount": 120, "candidatesTokenCount": 30, "thoughtsTokenCount": 50,
              "toolUsePromptTokenCount": 10, "cachedContentTokenCount": 64}
    reply_text = "a streamed answer in several chunks"
    emulator.queue(Reply.thinking("thinking about it", reply_text, chunks=4).with_usage(**counts))
    unary = client.chat.completions.create(model=FLASH, messages=[{"role": "user", "content": "hi"}]).usage
    emulator.queue(Reply.thinking("thinking about it", reply_text, chunks=4).with_usage(**counts))
    chunks = list(client.chat.completions.create(model=FLASH, messages=[{"role": "user", "content": "hi"}],
                                                 stream=True, stream_options={"include_usage": True}))
    streamed = chunks[-1].usage
    assert streamed.model_dump() == unary.model_dump()
    assert unary.total_tokens == unary.prompt_tokens + unary.completion_tokens == 120 + 30 + 50 + 10
    assert unary.completion_tokens_details.reasoning_tokens == 50
    assert all(c.usage is None for c in chunks[:-1]), "only the last chunk carries usage"
    finish_at = next(i for i, c in enumerate(chunks) if c.choices and c.choices[0].finish_reason)
    assert finish_at == len(chunks) - 2


@pytest.mark.parametrize("stream", [False, True])
def test_blocked_prompt_is_content_filter_with_the_reason(own_client, emulator, stream):
    reason, detail = "PROHIBITED_CONTENT", "The prompt was blocked by the project's content policy."
    emulator.queue(Reply.blocked(reason, detail))
    messages = [{"role": "user", "content": "something forbidden"}]
    if stream:
        chunks = list(own_client.chat.completions.create(model=FLASH, messages=messages, stream=True))
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finishes == ["content_filter"]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks if c.choices)
    else:
        choice = own_client.chat.completions.create(model=FLASH, messages=messages).choices[0]
        assert choice.finish_reason == "content_filter"
        text, refusal = choice.message.content or "", choice.message.refusal or ""
    for shown in (text, refusal):
        assert reason in shown and detail in shown
