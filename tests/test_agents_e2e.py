"""End to end, agent traffic: the official openai SDK -> the real proxy -> the strict Vertex emulator.

Tool calling in both modes (parallel calls, MCP-style and over-long tool names), Gemini 3 agent loops
whose thought signatures must survive a client that sends back only plain OpenAI messages, broken
histories that must still pass Vertex's turn rules, and malformed calls. Test names `test_painN_…`
refer to the user pain points in shared/reference/peers.md (b).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import uuid
from dataclasses import dataclass

import openai
import pytest
import requests
from conftest import API_KEY, accepted, generate_entries
from vertex_emulator import Reply
from vertex_emulator.signatures import BYPASS

FLASH = "gemini-2.5-flash"
GEMINI3 = "gemini-3-pro-preview"
GEMINI3_FLASH = "gemini-3-flash-preview"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

# Names Vertex would reject: `/` (MCP servers) and more than 64 characters.
MCP_NAME = "mcp/github/create_issue"
LONG_NAME = "query_the_enterprise_knowledge_base_for_confluence_pages_and_jira_tickets_by_keyword"
VERTEX_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]{0,63}$")  # what Vertex accepts


def tool(name: str, **properties: str) -> dict:
    props = {key: {"type": kind} for key, kind in properties.items()}
    return {"type": "function", "function": {
        "name": name, "description": f"The {name} tool.",
        "parameters": {"type": "object", "properties": props, "required": list(props)}}}


WEATHER = tool("get_weather", city="string")
TOOLS = [WEATHER, tool(MCP_NAME, title="string", body="string"), tool(LONG_NAME, keyword="string")]
AGENT_TOOLS = [tool("read_file", path="string"), tool("run_command", command="string"),
               tool("edit_file", path="string", patch="string")]


# --- fixtures and helpers ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(proxy):
    """One SDK client per module (building one takes ~70 ms); conftest's is per test."""
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)


@pytest.fixture
def own_client(proxy):
    """A client on its own connection, so that a stream that ends early cannot disturb the next test's."""
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30) as own:
        yield own




def declared_names(emulator, client, tools: list[dict]) -> list[str]:
    """The function names the proxy declares to Vertex for `tools`, in order (one throwaway request)."""
    client.chat.completions.create(model=FLASH, tools=tools, messages=[{"role": "user", "content": "list tools"}])
    return [d["name"] for d in accepted(emulator)["tools"][0]["functionDeclarations"]]


def new_signature() -> str:
    return base64.b64encode(secrets.token_bytes(48)).decode()


def signed_reply(model: str, parts: list[dict]) -> Reply:
    """A Vertex reply carrying signatures chosen by the test (the emulator learns them as issued)."""
    event = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
             "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 5, "totalTokenCount": 25},
             "modelVersion": model}
    return Reply.sample([event])


def call_part(name: str, args: dict, signature: str | None = None) -> dict:
    part: dict = {"functionCall": {"name": name, "args": args}}
    if signature:
        part["thoughtSignature"] = signature
    return part


def assistant_turn(message) -> dict:
    """What a plain OpenAI client appends: role, content and standard tool_calls, nothing else."""
    turn: dict = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        turn["tool_calls"] = [{"id": c.id, "type": "function",
                               "function": {"name": c.function.name, "arguments": c.function.arguments}}
                              for c in message.tool_calls]
    return turn


def tool_result(call_id: str, content: str) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": content}  # no `name`, like most clients


def model_calls(body: dict) -> list[dict]:
    """Every functionCall part in the request's history, in order."""
    return [p for c in body["contents"] if c["role"] == "model" for p in c["parts"] if "functionCall" in p]


def function_responses(content: dict) -> list[dict]:
    return [p["functionResponse"] for p in content["parts"] if "functionResponse" in p]


def sse_payloads(proxy, body: dict) -> list[str]:
    resp = requests.post(proxy.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=30)
    assert resp.status_code == 200, resp.text
    events = resp.text.replace("\r\n", "\n").split("\n\n")
    return [event[len("data: "):] for event in events if event.startswith("data: ")]


# --- tool calls: names, ids, arguments, finish_reason ----------------------------------------------
def test_pain6_mcp_and_long_tool_names_are_declared_valid_and_mapped_back(client, emulator):
    declared = declared_names(emulator, client, TOOLS)
    assert all(VERTEX_NAME.match(name) for name in declared)
    assert len(set(declared)) == 3 and declared[0] == "get_weather"
    assert MCP_NAME not in declared and LONG_NAME not in declared

    emulator.queue(Reply.function_calls([(declared[1], {"title": "Bug", "body": "It broke"}),
                                         (declared[2], {"keyword": "outage"})]))
    messages = [{"role": "user", "content": "file an issue and search the wiki"}]
    reply = client.chat.completions.create(model=FLASH, tools=TOOLS, messages=messages)
    calls = reply.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == [MCP_NAME, LONG_NAME]

    # The client sends the history back with its own names and results without `name`
    # (cline/cline#10687: "function_response.name: Name cannot be empty").
    messages += [assistant_turn(reply.choices[0].message),
                 tool_result(calls[0].id, "Created issue #42"), tool_result(calls[1].id, "3 pages found")]
    client.chat.completions.create(model=FLASH, tools=TOOLS, messages=messages)
    body = accepted(emulator)
    assert [p["functionCall"]["name"] for p in model_calls(body)] == declared[1:]
    responses = function_responses(body["contents"][-1])
    assert [r["name"] for r in responses] == declared[1:]
    assert [r["response"] for r in responses] == [{"output": "Created issue #42"}, {"output": "3 pages found"}]


def test_pain6_tool_choice_naming_an_mcp_tool_uses_the_declared_name(client, emulator):
    declared = declared_names(emulator, client, TOOLS)
    emulator.queue(Reply.function_call(declared[1], {"title": "t", "body": "b"}))
    reply = client.chat.completions.create(
        model=FLASH, tools=TOOLS, tool_choice={"type": "function", "function": {"name": MCP_NAME}},
        messages=[{"role": "user", "content": "file an issue"}])
    assert reply.choices[0].message.tool_calls[0].function.name == MCP_NAME
    config = accepted(emulator)["toolConfig"]["functionCallingConfig"]
    assert config == {"mode": "ANY", "allowedFunctionNames": [declared[1]]}


def test_pain9_parallel_tool_calls_non_stream(client, emulator):
    declared = declared_names(emulator, client, TOOLS)
    args = [{"city": "Paris"}, {"title": "Rain", "body": "Bring an umbrella"}, {"keyword": "weather"}]
    emulator.queue(Reply.function_calls(list(zip(declared, args))))
    reply = client.chat.completions.create(model=FLASH, tools=TOOLS,
                                           messages=[{"role": "user", "content": "do all three"}])
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", MCP_NAME, LONG_NAME]
    assert all(c.type == "function" and len(c.id) >= 9 for c in calls)
    assert len({c.id for c in calls}) == 3
    assert all(isinstance(c.function.arguments, str) for c in calls)
    assert [json.loads(c.function.arguments) for c in calls] == args


def test_pain9_parallel_tool_calls_stream_with_sdk_helper(client, emulator):
    declared = declared_names(emulator, client, TOOLS)
    args = [{"city": "Oslo"}, {"title": "Snow", "body": "Roads closed"}, {"keyword": "snow"}]
    emulator.queue(Reply.function_calls(list(zip(declared, args))))
    with client.chat.completions.stream(model=FLASH, tools=TOOLS,
                                        messages=[{"role": "user", "content": "do all three"}]) as stream:
        events = list(stream)
        final = stream.get_final_completion()

    types = {e.type for e in events}
    assert {"chunk", "tool_calls.function.arguments.delta", "tool_calls.function.arguments.done"} <= types
    assert "content.delta" not in types
    done = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert [(e.index, e.name, json.loads(e.arguments)) for e in done] == [
        (0, "get_weather", args[0]), (1, MCP_NAME, args[1]), (2, LONG_NAME, args[2])]
    chunk_indexes = sorted({tc.index for e in events if e.type == "chunk" and e.chunk.choices
                            for tc in e.chunk.choices[0].delta.tool_calls or ()})
    assert chunk_indexes == [0, 1, 2]

    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather", MCP_NAME, LONG_NAME]
    assert [json.loads(c.function.arguments) for c in choice.message.tool_calls] == args
    assert all(len(c.id) >= 9 for c in choice.message.tool_calls)
    finishes = [e.chunk.choices[0].finish_reason for e in events
                if e.type == "chunk" and e.chunk.choices and e.chunk.choices[0].finish_reason]
    assert finishes == ["tool_calls"]


def test_pain10_streamed_tool_call_deltas_satisfy_strict_parsers(proxy, emulator):
    """Vercel AI SDK / vLLM rules: the first delta of each call has index, id, type and the full name
    (sent once), later deltas only index + argument text; role once; one finish chunk with delta {}."""
    emulator.queue(Reply.function_calls([("get_weather", {"city": "Lima"}), ("get_weather", {"city": "Quito"})]))
    payloads = sse_payloads(proxy, {"model": FLASH, "stream": True, "tools": [WEATHER],
                                    "messages": [{"role": "user", "content": "weather in Lima and Quito"}]})
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and len(c["choices"]) == 1 for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert [d.get("role") for d in deltas if "role" in d] == ["assistant"]
    arguments: dict[int, str] = {}
    seen: list[int] = []
    for delta in deltas:
        for tc in delta.get("tool_calls") or ():
            index = tc["index"]
            if index not in seen:
                seen.append(index)
                assert tc["type"] == "function" and len(tc["id"]) >= 9
                assert tc["function"]["name"] == "get_weather"
                assert tc["function"]["arguments"] == ""
            else:
                assert set(tc) == {"index", "function"} and set(tc["function"]) == {"arguments"}
            arguments[index] = arguments.get(index, "") + tc["function"]["arguments"]
    assert seen == [0, 1]
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"city": "Lima"}, 1: {"city": "Quito"}}
    finishing = [c["choices"][0] for c in chunks if c["choices"][0]["finish_reason"]]
    assert finishing == [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_pain10_a_large_streamed_tool_call_arrives_whole(own_client, emulator):
    """An agent writing a big file: one Vertex event of ~300 KB, which reaches the proxy in several
    reads (mitmproxy reads at most 64 KiB at a time)."""
    content = "".join(f"line {i}: {'x' * 40}\n" for i in range(6000))
    emulator.queue(Reply.function_call("write_file", {"path": "big.txt", "content": content}))
    write = tool("write_file", path="string", content="string")
    with own_client.chat.completions.stream(model=FLASH, tools=[write],
                                        messages=[{"role": "user", "content": "write big.txt"}]) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == {"path": "big.txt", "content": content}
    assert final.choices[0].finish_reason == "tool_calls"


def test_pain2_tool_calls_carry_only_standard_fields(proxy, emulator):
    """Google's own endpoint hides the signature in `extra_content`, which clients drop; here the
    client never sees a signature at all (the proxy keeps it), in either mode."""
    signature = new_signature()
    for stream in (False, True):
        emulator.queue(signed_reply(GEMINI3, [call_part("read_file", {"path": f"/repo/{uuid.uuid4()}"}, signature)]))
        body = {"model": GEMINI3, "stream": stream, "tools": AGENT_TOOLS,
                "messages": [{"role": "user", "content": "read a file"}]}
        resp = requests.post(proxy.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=30)
        assert resp.status_code == 200
        assert signature not in resp.text and "signature" not in resp.text.lower()
        assert "extra_content" not in resp.text
        if not stream:
            call = resp.json()["choices"][0]["message"]["tool_calls"][0]
            assert set(call) == {"id", "type", "function"} and set(call["function"]) == {"name", "arguments"}


# --- Gemini 3: thought signatures across an agent loop ---------------------------------------------
def test_pain1_gemini3_agent_loop_round_trips_thought_signatures(client, emulator):
    """Four model turns (three tool rounds, the last with parallel calls, then a signed answer) and a
    follow-up question; the client keeps only plain OpenAI messages. Every request must pass Gemini 3's
    signature check over the whole history, carrying back exactly the signature each turn was issued."""
    emulator.configure(signatures_whole_history=True)
    sig_read, sig_run, sig_edit, sig_answer = (new_signature() for _ in range(4))
    token = uuid.uuid4().hex[:8]  # keeps arguments unique across test runs sharing the proxy's store
    messages: list[dict] = [{"role": "system", "content": "You are a coding agent."},
                            {"role": "user", "content": "Fix the failing test."}]

    def turn(parts: list[dict], *, stream: bool):
        emulator.queue(signed_reply(GEMINI3, parts))
        if stream:
            with client.chat.completions.stream(model=GEMINI3, tools=AGENT_TOOLS, messages=messages) as s:
                return s.get_final_completion().choices[0]
        return client.chat.completions.create(model=GEMINI3, tools=AGENT_TOOLS, messages=messages).choices[0]

    # Round 1: one call (unary).
    choice = turn([{"text": "Let me look at the test."},
                   call_part("read_file", {"path": f"tests/test_{token}.py"}, sig_read)], stream=False)
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Let me look at the test."
    messages += [assistant_turn(choice.message), tool_result(choice.message.tool_calls[0].id, "def test(): 1/0")]
    # Round 2: one call (streamed; litellm#16893 lost signatures only in streaming mode).
    choice = turn([call_part("run_command", {"command": f"pytest -k {token}"}, sig_run)], stream=True)
    assert choice.finish_reason == "tool_calls"
    messages += [assistant_turn(choice.message),
                 tool_result(choice.message.tool_calls[0].id, "ZeroDivisionError")]
    # Round 3: two parallel calls; Gemini signs only the first.
    choice = turn([call_part("edit_file", {"path": f"tests/test_{token}.py", "patch": "-1/0\n+1"}, sig_edit),
                   call_part("read_file", {"path": f"src/{token}.py"})], stream=False)
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["edit_file", "read_file"]
    messages += [assistant_turn(choice.message), tool_result(calls[0].id, "patched"),
                 tool_result(calls[1].id, "x = 1")]
    # Round 4: the answer; Gemini 3 signs its last text part.
    choice = turn([{"text": f"Fixed the division in test_{token}.", "thoughtSignature": sig_answer}], stream=True)
    assert choice.finish_reason == "stop"
    messages += [assistant_turn(choice.message), {"role": "user", "content": "Thanks. Update the changelog."}]
    reply = client.chat.completions.create(model=GEMINI3, tools=AGENT_TOOLS, messages=messages)
    assert reply.choices[0].message.content

    entries = generate_entries(emulator)[-5:]
    assert [e["status"] for e in entries] == [200] * 5
    history = entries[-1]["body"]["contents"]
    calls_sent = model_calls(entries[-1]["body"])
    assert [(p["functionCall"]["name"], p.get("thoughtSignature")) for p in calls_sent] == [
        ("read_file", sig_read), ("run_command", sig_run), ("edit_file", sig_edit), ("read_file", None)]
    texts = [p for c in history if c["role"] == "model" for p in c["parts"] if "text" in p]
    assert texts == [{"text": "Let me look at the test."},
                     {"text": f"Fixed the division in test_{token}.", "thoughtSignature": sig_answer}]
    # Each earlier request carried the signatures issued so far, and only those.
    for entry, expected in zip(entries[1:4], ([sig_read], [sig_read, sig_run], [sig_read, sig_run, sig_edit])):
        assert [p["thoughtSignature"] for p in model_calls(entry["body"]) if "thoughtSignature" in p] == expected
    # Results went back without `name` on the client side, named after their calls here.
    responses = [r for c in history for r in function_responses(c)]
    assert [r["name"] for r in responses] == ["read_file", "run_command", "edit_file", "read_file"]
    assert all(r["id"] == p["functionCall"]["id"] for r, p in zip(responses, calls_sent))


def test_pain1_streamed_parallel_calls_keep_emulator_minted_signatures(client, emulator):
    emulator.configure(signatures_whole_history=True)
    token = uuid.uuid4().hex[:8]
    emulator.queue(Reply.function_calls([("read_file", {"path": f"a_{token}.py"}),
                                         ("read_file", {"path": f"b_{token}.py"})]))
    messages: list[dict] = [{"role": "user", "content": "read both files"}]
    with client.chat.completions.stream(model=GEMINI3_FLASH, tools=AGENT_TOOLS, messages=messages) as stream:
        message = stream.get_final_completion().choices[0].message
    messages += [assistant_turn(message), tool_result(message.tool_calls[0].id, "A"),
                 tool_result(message.tool_calls[1].id, "B")]
    client.chat.completions.create(model=GEMINI3_FLASH, tools=AGENT_TOOLS, messages=messages)
    first, second = model_calls(accepted(emulator))
    assert first["thoughtSignature"] != BYPASS
    assert emulator.emulator.signatures.knows(first["thoughtSignature"])
    assert "thoughtSignature" not in second


def test_pain1_streamed_gemini3_answer_keeps_its_text_signature(client, emulator):
    """Gemini 3 signs its answer's last text part, which arrives split over several stream chunks."""
    emulator.configure(signatures_whole_history=True)
    answer = f"The build is green again ({uuid.uuid4().hex[:8]}), all 42 tests pass."
    emulator.queue(Reply.text(answer, chunks=4))
    messages: list[dict] = [{"role": "user", "content": "status?"}]
    chunks = list(client.chat.completions.create(model=GEMINI3_FLASH, messages=messages, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer
    messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": "and the linter?"}]
    client.chat.completions.create(model=GEMINI3_FLASH, messages=messages)
    [model_turn] = [c for c in accepted(emulator)["contents"] if c["role"] == "model"]
    assert model_turn["parts"][0]["text"] == answer
    assert emulator.emulator.signatures.knows(model_turn["parts"][0]["thoughtSignature"])
    assert model_turn["parts"][0]["thoughtSignature"] != BYPASS


def test_pain1_gemini3_stream_ending_in_a_signature_only_part_finishes(own_client, emulator):
    """Gemini 3 may close a streamed answer with an empty text part that carries only the signature,
    each event arriving on its own (paced as Vertex sends them). The client must still get the finish
    chunk and [DONE], and the signature must come back with the answer on the next turn."""
    signature = new_signature()
    answer = f"Hello from {uuid.uuid4().hex[:8]}"
    head, tail = answer[:5], answer[5:]
    events = [{"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}}]} for piece in (head, tail)]
    events.append({"candidates": [{"content": {"role": "model", "parts": [{"text": "", "thoughtSignature": signature}]},
                                   "finishReason": "STOP"}],
                   "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7}})
    emulator.queue(Reply.sample(events).paced(30))
    messages: list[dict] = [{"role": "user", "content": "say hello"}]
    chunks = list(own_client.chat.completions.create(model=GEMINI3_FLASH, messages=messages, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": "again"}]
    own_client.chat.completions.create(model=GEMINI3_FLASH, messages=messages)
    [model_turn] = [c for c in accepted(emulator)["contents"] if c["role"] == "model"]
    assert model_turn["parts"] == [{"text": answer, "thoughtSignature": signature}]


def test_pain1_store_miss_sends_the_bypass_vertex_accepts(client, emulator):
    """A history from elsewhere (another proxy, a restart): call ids this proxy never issued."""
    emulator.configure(signatures_whole_history=True)
    token = uuid.uuid4().hex
    messages = [
        {"role": "user", "content": "what is in the config?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{token[:24]}", "type": "function",
             "function": {"name": "read_file", "arguments": json.dumps({"path": f"{token}.toml"})}}]},
        tool_result(f"call_{token[:24]}", "debug = true"),
    ]
    reply = client.chat.completions.create(model=GEMINI3_FLASH, tools=AGENT_TOOLS, messages=messages)
    assert reply.choices[0].message.content
    [call] = model_calls(accepted(emulator))
    assert call["thoughtSignature"] == BYPASS


def test_pain3_ids_hold_no_signature_and_rewritten_ids_still_work(client, emulator):
    """LiteLLM packs signatures into tool_call ids (long ids, broken by clients that renumber them).
    Here ids are short and opaque, and a client that rewrites ids and re-serializes the arguments
    still gets its signature back."""
    signature = new_signature()
    args = {"command": f"ls {uuid.uuid4().hex[:8]}", "note": "café ✓", "options": {"long": True, "all": [1, 2]}}
    emulator.queue(signed_reply(GEMINI3, [call_part("run_command", args, signature)]))
    messages: list[dict] = [{"role": "user", "content": "list the files"}]
    reply = client.chat.completions.create(model=GEMINI3, tools=AGENT_TOOLS, messages=messages)
    call = reply.choices[0].message.tool_calls[0]
    assert 9 <= len(call.id) <= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", call.id)
    assert signature not in call.id and signature[:16] not in call.id
    assert json.loads(call.function.arguments) == args

    turn = assistant_turn(reply.choices[0].message)
    turn["tool_calls"][0]["id"] = "toolu_01"  # the client renumbers ids in its own scheme…
    turn["tool_calls"][0]["function"]["arguments"] = json.dumps(args, indent=2, sort_keys=True)  # …and reformats
    messages += [turn, tool_result("toolu_01", "README.md")]
    client.chat.completions.create(model=GEMINI3, tools=AGENT_TOOLS, messages=messages)
    [sent] = model_calls(accepted(emulator))
    assert sent["thoughtSignature"] == signature and sent["functionCall"]["args"] == args


# --- parallel results, turn order, broken histories --------------------------------------------------
@pytest.mark.parametrize("model", [FLASH, GEMINI3_FLASH])
def test_pain7_parallel_results_in_any_order_pair_with_their_calls(client, emulator, model):
    """Same tool called three times; results come back in reverse order. Vertex needs one response
    per call, in one turn, and each must answer its own call (TanStack/ai#894 deduplicated by name)."""
    cities = ["Paris", "Tokyo", "Cairo"]
    emulator.queue(Reply.function_calls([("get_weather", {"city": c}) for c in cities]))
    messages: list[dict] = [{"role": "user", "content": "weather in three cities"}]
    reply = client.chat.completions.create(model=model, tools=[WEATHER], messages=messages)
    calls = reply.choices[0].message.tool_calls
    assert len(calls) == 3
    messages.append(assistant_turn(reply.choices[0].message))
    for call in reversed(calls):
        messages.append(tool_result(call.id, f"sunny in {json.loads(call.function.arguments)['city']}"))
    client.chat.completions.create(model=model, tools=[WEATHER], messages=messages)
    body = accepted(emulator)
    responses = function_responses(body["contents"][-1])
    assert [r["response"]["output"] for r in responses] == [f"sunny in {c}" for c in cities]
    assert [p["functionCall"]["args"]["city"] for p in model_calls(body)] == cities


ANY = ...  # a result the proxy had to make up: any text will do


@dataclass
class Broken:
    messages: list[dict]
    cities: list[str]  # the calls Vertex must see (by their `city` argument), in order
    results: list  # the function responses Vertex must see, in order
    mentions: tuple[str, ...] = ()  # texts that must still reach the model


ROME = {"id": "call_abcdefghij0123456789", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}
OSLO = {"id": "call_second_0000000001", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
QUESTION = {"role": "user", "content": "and tomorrow?"}


def user_msg(content) -> dict:
    return {"role": "user", "content": content}


def call_msg(*tool_calls: dict, content=None) -> dict:
    return {"role": "assistant", "content": content, "tool_calls": list(tool_calls)}


BROKEN = {
    "empty_assistant_turns": Broken(
        [user_msg("hi"), {"role": "assistant", "content": ""}, {"role": "assistant", "content": None},
         user_msg([{"type": "text", "text": ""}]), QUESTION], [], []),
    "orphan_tool_result": Broken(
        [user_msg("weather?"), tool_result("call_compacted_away_000001", "ORPHAN sunny 24C"), QUESTION],
        [], [], ("ORPHAN sunny 24C",)),
    "call_without_result": Broken(
        [user_msg("weather in Rome?"), call_msg(ROME, content="Let me check."), QUESTION], ["Rome"], [ANY]),
    "starts_with_assistant_call": Broken(
        [call_msg(ROME), tool_result(ROME["id"], "sunny"), QUESTION], ["Rome"], ["sunny"]),
    "consecutive_same_role": Broken(
        [user_msg("<user_info>macOS</user_info>"), user_msg("weather?"), {"role": "assistant", "content": "Checking."},
         call_msg(ROME), tool_result(ROME["id"], "sunny"), user_msg("ok"), QUESTION],
        ["Rome"], ["sunny"], ("<user_info>macOS</user_info>", "Checking.")),
    "parallel_call_missing_a_result": Broken(
        [user_msg("weather in Rome and Oslo?"), call_msg(ROME, OSLO), tool_result(ROME["id"], "sunny"), QUESTION],
        ["Rome", "Oslo"], ["sunny", ANY]),
    "duplicate_tool_result": Broken(
        [user_msg("weather?"), call_msg(ROME), tool_result(ROME["id"], "timeout"),
         tool_result(ROME["id"], "sunny (retried)"), QUESTION], ["Rome"], ["timeout"], ("sunny (retried)",)),
    "result_after_a_user_interjection": Broken(
        [user_msg("weather?"), call_msg(ROME), user_msg("in Celsius please"), tool_result(ROME["id"], "24C"), QUESTION],
        ["Rome"], ["24C"], ("in Celsius please",)),
    "reused_call_ids": Broken(
        [user_msg("weather in Rome, then Oslo"), call_msg({**ROME, "id": "call_0"}),
         tool_result("call_0", "Rome: sunny"), call_msg({**OSLO, "id": "call_0"}), tool_result("call_0", "Oslo: snow"),
         QUESTION],
        ["Rome", "Oslo"], ["Rome: sunny", "Oslo: snow"]),
    "content_empty_list": Broken(
        [user_msg("weather?"), call_msg(ROME, content=[]), tool_result(ROME["id"], "sunny"), user_msg([]), QUESTION],
        ["Rome"], ["sunny"]),
}


@pytest.mark.parametrize("model", [FLASH, GEMINI3_FLASH])
@pytest.mark.parametrize("kind", list(BROKEN))
def test_pain8_broken_history_is_repaired_into_a_request_vertex_accepts(client, emulator, kind, model):
    case = BROKEN[kind]
    emulator.configure(signatures_whole_history=True)
    reply = client.chat.completions.create(model=model, tools=[WEATHER], messages=case.messages)
    assert reply.choices[0].finish_reason == "stop" and reply.choices[0].message.content
    body = accepted(emulator)
    roles = [c["role"] for c in body["contents"]]
    assert roles[0] == "user" and all(a != b for a, b in itertools.pairwise(roles)), f"turns: {roles}"
    assert all(p for c in body["contents"] for p in c["parts"]), "no empty parts"
    assert body["contents"][-1]["parts"][-1] == {"text": "and tomorrow?"}
    assert [p["functionCall"]["args"]["city"] for p in model_calls(body)] == case.cities
    results = [r["response"]["output"] for c in body["contents"] for r in function_responses(c)]
    assert len(results) == len(case.results)
    assert all(want is ANY or got == want for got, want in zip(results, case.results))
    for text in case.mentions:
        assert text in json.dumps(body["contents"], ensure_ascii=False)


# --- malformed calls --------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
def test_pain13_malformed_function_call_is_never_a_silent_empty_reply(own_client, emulator, stream):
    detail = "Malformed function call: print(default_api.get_weather(city='Rome'"
    broken = Reply.sample([{"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL", "finishMessage": detail}],
                            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}}])  # no content at all
    emulator.queue(broken, broken)  # a second one in case the proxy retries once
    messages = [{"role": "user", "content": "weather in Rome"}]
    if stream:
        chunks = list(own_client.chat.completions.create(model=FLASH, tools=[WEATHER], messages=messages, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert len(finishes) == 1
        finish = finishes[0]
    else:
        choice = own_client.chat.completions.create(model=FLASH, tools=[WEATHER], messages=messages).choices[0]
        text, finish = choice.message.content or "", choice.finish_reason
    assert detail in text and "MALFORMED_FUNCTION_CALL" in text
    assert finish == "stop"  # Roo/Cline show the text instead of failing on an "empty response"
