"""Unary Vertex replies -> `chat.completion`: golden tests on recorded bodies, validated with the openai SDK."""

from __future__ import annotations

import copy
import json
import re

import pytest
from openai.types.chat import ChatCompletion
from samples import sample_json

from translators.context import ResponseContext
from translators.errors import UpstreamReplyError
from translators.response import FINISH_REASONS, is_malformed_call, openai_usage, to_openai_response
from translators.signatures import SignatureStore, text_key

CALL_ID = re.compile(r"^call_[A-Za-z0-9]{24}$")
UNARY = ["01", "02", "03", "03b", "06", "07", "08", "08b", "09", "20"]


def translate(vertex: dict, signatures: SignatureStore | None = None, **ctx_fields) -> dict:
    ctx = ResponseContext(requested_model=ctx_fields.pop("model", "vx-flash"), **ctx_fields)
    body = to_openai_response(vertex, ctx, signatures)
    ChatCompletion.model_validate(body)  # the official SDK type accepts it
    json.dumps(body)  # and it is plain JSON
    assert body["id"] == ctx.completion_id and body["created"] == ctx.created
    return body


def message(body: dict, i: int = 0) -> dict:
    return body["choices"][i]["message"]


@pytest.mark.parametrize("prefix", UNARY)
def test_every_recorded_reply_is_a_valid_chat_completion(prefix):
    body = translate(sample_json(prefix), SignatureStore(), model="my-alias")
    assert body["object"] == "chat.completion"
    assert body["model"] == "my-alias"  # the client's name, not Vertex's modelVersion
    assert body["system_fingerprint"] is None
    assert body["choices"] and all(c["message"]["role"] == "assistant" for c in body["choices"])


def test_text_reply_older_shape_01():
    body = translate(sample_json("01"))
    choice = body["choices"][0]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": "Mountain View, California", "refusal": None},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert body["usage"]["prompt_tokens"] == 6
    assert body["usage"]["completion_tokens"] == 7
    assert body["usage"]["total_tokens"] == 13


def test_text_reply_2025_shape_without_index_03():
    body = translate(sample_json("03"))
    assert body["choices"][0]["index"] == 0
    assert message(body)["content"] == "The capital of France is Paris.\n"
    assert body["usage"] == {
        "prompt_tokens": 13, "completion_tokens": 8, "total_tokens": 21,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def test_gemini3_text_signature_is_stored_under_the_message_text_03b():
    store = SignatureStore()
    vertex = sample_json("03b")
    body = translate(vertex, store)
    content = message(body)["content"]
    assert content == "The capital of France is **Paris**."
    assert store.get(text_key(content)) == vertex["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert "thoughtSignature" not in json.dumps(body)  # clients never see signatures
    usage = body["usage"]
    assert (usage["completion_tokens"], usage["total_tokens"]) == (38, 51)
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 30


@pytest.mark.parametrize("mode", ["reasoning_content", "think_tags", "hidden"])
def test_pain12_reasoning_display_modes_02(mode):
    vertex = sample_json("02")
    thought = vertex["candidates"][0]["content"]["parts"][0]["text"]
    msg = message(translate(vertex, reasoning_output=mode))
    if mode == "reasoning_content":
        assert msg["content"] == "Mountain View"
        assert msg["reasoning_content"] == thought
    elif mode == "think_tags":
        assert msg["content"] == f"<think>\n{thought}\n</think>\n\nMountain View"
        assert "reasoning_content" not in msg
    else:
        assert msg["content"] == "Mountain View"
        assert "reasoning_content" not in msg
        assert thought not in json.dumps(msg)


def test_pain9_tool_calls_finish_reason_parallel_06():
    body = translate(sample_json("06"))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"  # Vertex said STOP
    msg = choice["message"]
    assert msg["content"] is None
    calls = msg["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ['{"y":1,"x":2}', '{"y":3,"x":4}', '{"y":5,"x":6}']
    assert {c["function"]["name"] for c in calls} == {"sum"}
    assert all(c["type"] == "function" and CALL_ID.match(c["id"]) for c in calls)
    assert len({c["id"] for c in calls}) == 3


def test_function_call_signature_is_stored_for_the_call_07():
    store = SignatureStore()
    vertex = sample_json("07")
    signature = vertex["candidates"][0]["content"]["parts"][1]["thoughtSignature"]
    body = translate(vertex, store)
    call = message(body)["tool_calls"][0]
    assert call["function"] == {"name": "now", "arguments": "{}"}
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert store.lookup_call(call["id"], "now", {}) == signature
    assert store.lookup_call("call_rewritten_by_client", "now", {}) == signature  # hash fallback
    assert message(body)["reasoning_content"].startswith("**Thinking Through")
    assert body["usage"]["completion_tokens"] == 8 + 501


def test_only_the_first_parallel_call_carries_a_signature():
    vertex = copy.deepcopy(sample_json("06"))
    vertex["candidates"][0]["content"]["parts"][0]["thoughtSignature"] = "c2ln"
    store = SignatureStore()
    calls = message(translate(vertex, store))["tool_calls"]
    assert store.get(calls[0]["id"]) == "c2ln"
    assert store.get(calls[1]["id"]) is None and store.get(calls[2]["id"]) is None


def test_renamed_tools_are_mapped_back_to_the_client_name():
    vertex = copy.deepcopy(sample_json("07"))
    vertex["candidates"][0]["content"]["parts"][1]["functionCall"]["name"] = "mcp__srv__now"
    store = SignatureStore()
    body = translate(vertex, store, tool_names={"mcp__srv__now": "mcp--srv--now"})
    call = message(body)["tool_calls"][0]
    assert call["function"]["name"] == "mcp--srv--now"
    assert store.lookup_call(None, "mcp--srv--now", {}) is not None
    assert store.lookup_call(None, "mcp__srv__now", {}) is not None


def test_blocked_prompt_is_visible_08():
    body = translate(sample_json("08"))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "content_filter"
    msg = choice["message"]
    assert msg["refusal"] == "Prompt blocked by Vertex AI: SAFETY (HATE_SPEECH)"
    assert msg["content"] == msg["refusal"]
    assert body["usage"]["total_tokens"] == 0


def test_blocked_prompt_model_armor_message_08b():
    msg = message(translate(sample_json("08b")))
    assert msg["refusal"] == (
        "Prompt blocked by Vertex AI: MODEL_ARMOR — The prompt violated Prompt Injection and Jailbreak filters."
    )


def test_safety_finish_keeps_partial_content_09():
    body = translate(sample_json("09"))
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert message(body)["content"] == "<redacted>"
    assert message(body)["refusal"] is None
    assert body["usage"]["prompt_tokens"] == 8 and body["usage"]["completion_tokens"] == 0


def test_safety_finish_without_content_explains_itself():
    vertex = copy.deepcopy(sample_json("09"))
    vertex["candidates"][0]["content"] = {}
    msg = message(translate(vertex))
    assert msg["refusal"] == "Response blocked by Vertex AI: SAFETY (HARASSMENT)"


def test_grounding_becomes_url_citations_20():
    vertex = sample_json("20")
    msg = message(translate(vertex))
    content = msg["content"]
    annotations = msg["annotations"]
    supports = vertex["candidates"][0]["groundingMetadata"]["groundingSupports"]
    assert len(annotations) == 3
    for annotation, support in zip(annotations, supports):
        cite = annotation["url_citation"]
        assert annotation["type"] == "url_citation"
        assert content[cite["start_index"]:cite["end_index"]] == support["segment"]["text"]
    assert annotations[0]["url_citation"]["title"] == "accuweather.com"


def test_grounding_byte_offsets_without_segment_text():
    vertex = copy.deepcopy(sample_json("20"))
    for support in vertex["candidates"][0]["groundingMetadata"]["groundingSupports"]:
        del support["segment"]["text"]
    msg = message(translate(vertex))
    third = msg["annotations"][2]["url_citation"]
    assert msg["content"][third["start_index"]:third["end_index"]].startswith("There is a 0% chance")


def test_empty_candidate_is_an_empty_stop():
    body = translate({"candidates": [{"content": {}, "index": 0}]})
    assert message(body)["content"] is None
    assert body["choices"][0]["finish_reason"] == "stop"


def test_pain13_malformed_function_call_is_never_a_silent_empty_reply():
    vertex = {"candidates": [{
        "content": {},
        "finishReason": "MALFORMED_FUNCTION_CALL",
        "finishMessage": "Malformed function call: print(default_api.read_file(path=))",
    }]}
    assert is_malformed_call(vertex)
    body = translate(vertex)
    assert body["choices"][0]["finish_reason"] == "stop"
    content = message(body)["content"]
    assert "MALFORMED_FUNCTION_CALL" in content and "read_file(path=)" in content


@pytest.mark.parametrize("reason", ["UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"])
def test_other_malformed_call_reasons(reason):
    vertex = {"candidates": [{"content": {"parts": [{"text": "Let me check."}]}, "finishReason": reason}]}
    assert is_malformed_call(vertex)
    content = message(translate(vertex))["content"]
    assert content.startswith("Let me check.\n\n") and reason in content


def test_is_malformed_call_false_for_normal_replies():
    assert not any(is_malformed_call(sample_json(p)) for p in UNARY)


def test_no_candidates_and_no_block_reason_is_an_upstream_error():
    with pytest.raises(UpstreamReplyError):
        to_openai_response({"usageMetadata": {"trafficType": "ON_DEMAND"}}, ResponseContext("m"))


@pytest.mark.parametrize(("vertex_reason", "expected"), [
    *FINISH_REASONS.items(),
    ("SOMETHING_NEW", "stop"),
    ("MALFORMED_FUNCTION_CALL", "stop"),
])
def test_finish_reason_table(vertex_reason, expected):
    vertex = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": vertex_reason}]}
    assert translate(vertex)["choices"][0]["finish_reason"] == expected


def test_tool_calls_win_over_any_vertex_reason():
    vertex = copy.deepcopy(sample_json("06"))
    vertex["candidates"][0]["finishReason"] = "MAX_TOKENS"
    assert translate(vertex)["choices"][0]["finish_reason"] == "tool_calls"


def test_n_candidates_are_choices_by_index():
    vertex = {"candidates": [
        {"content": {"parts": [{"text": "second"}]}, "finishReason": "STOP", "index": 1},
        {"content": {"parts": [{"text": "first"}]}, "finishReason": "MAX_TOKENS"},
    ]}
    body = translate(vertex, n=2)
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in body["choices"]] == [
        (0, "first", "length"), (1, "second", "stop"),
    ]


def test_text_parts_are_joined_without_separator():
    vertex = {"candidates": [{"content": {"parts": [{"text": "Hel"}, {"text": "lo"}]}, "finishReason": "STOP"}]}
    assert message(translate(vertex))["content"] == "Hello"


def test_code_execution_parts_render_as_markdown():
    vertex = {"candidates": [{"content": {"parts": [
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}},
    ]}, "finishReason": "STOP"}]}
    content = message(translate(vertex))["content"]
    assert "```python\nprint(1)\n```" in content and "```\n1\n```" in content


def test_logprobs_are_mapped():
    vertex = {"candidates": [{
        "content": {"parts": [{"text": "Hi!"}]},
        "finishReason": "STOP",
        "logprobsResult": {
            "topCandidates": [
                {"candidates": [{"token": "Hi", "logProbability": -0.1}, {"token": "Hello", "logProbability": -2.5}]},
                {"candidates": [{"token": "!"}]},
            ],
            "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}, {"token": "!"}],
        },
    }]}
    logprobs = translate(vertex)["choices"][0]["logprobs"]
    first, second = logprobs["content"]
    assert (first["token"], first["logprob"], first["bytes"]) == ("Hi", -0.1, [72, 105])
    assert [t["token"] for t in first["top_logprobs"]] == ["Hi", "Hello"]
    assert second["logprob"] == 0.0  # proto3 JSON omits a zero


@pytest.mark.parametrize("prefix", ["01", "02", "03", "03b", "07", "09", "20"])
def test_pain11_usage_total_is_consistent_with_its_parts(prefix):
    usage = translate(sample_json(prefix))["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_usage_rule_tool_use_prompt_and_cache():
    usage = openai_usage({
        "promptTokenCount": 210, "candidatesTokenCount": 192, "toolUsePromptTokenCount": 371,
        "thoughtsTokenCount": 192, "cachedContentTokenCount": 100, "totalTokenCount": 965,
    })
    assert usage == {
        "prompt_tokens": 581, "completion_tokens": 384, "total_tokens": 965,
        "prompt_tokens_details": {"cached_tokens": 100},
        "completion_tokens_details": {"reasoning_tokens": 192},
    }
    assert openai_usage({"trafficType": "ON_DEMAND"}) is None
    assert openai_usage(None) is None


def test_think_tags_text_signature_is_found_from_the_content_sent_back():
    vertex = copy.deepcopy(sample_json("02"))
    vertex["candidates"][0]["content"]["parts"][1]["thoughtSignature"] = "c2ln"
    store = SignatureStore()
    content = message(translate(vertex, store, reasoning_output="think_tags"))["content"]
    assert store.get(text_key(content)) == "c2ln"  # a client that echoes the think block
    assert store.get(text_key("Mountain View")) == "c2ln"  # one that strips it
