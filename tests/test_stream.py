"""Vertex SSE -> OpenAI chunk stream: golden tests on recorded streams, robustness to any byte split,
and checks with the openai SDK's own decoder, chunk type and stream accumulator."""

from __future__ import annotations

import copy
import json
import re

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from samples import sample_bytes, sample_json, sse_events, to_sse

from translators.context import ResponseContext
from translators.signatures import SignatureStore, text_key
from translators.stream import StreamTranslator, sse_comment, translate_stream_body

try:
    import httpx2 as httpx  # the openai SDK's HTTP client in this environment (openai 3.x)
except ImportError:  # openai 1.x
    import httpx

STREAMS = ["04", "07b", "14", "17"]
CALL_ID = re.compile(rb"call_[A-Za-z0-9]{24}")


def context(**fields) -> ResponseContext:
    fields.setdefault("requested_model", "vx-flash")
    fields.setdefault("completion_id", "chatcmpl-test")
    fields.setdefault("created", 1700000000)
    return ResponseContext(stream=True, **fields)


def parse(out: bytes) -> list:
    """OpenAI SSE bytes -> payloads (dicts, or "[DONE]"); checks the framing on the way."""
    assert out.endswith(b"\n\n")
    events = []
    for block in out[:-2].split(b"\n\n"):
        assert block.startswith(b"data: ") and b"\n" not in block, block
        data = block[6:]
        events.append("[DONE]" if data == b"[DONE]" else json.loads(data))
    return events


def run(body: bytes, signatures: SignatureStore | None = None, **fields) -> tuple[list, StreamTranslator]:
    translator = StreamTranslator(context(**fields), signatures)
    out = translator.feed(body) + translator.finish()
    return parse(out), translator


def chunks(events: list) -> list[dict]:
    return [e for e in events if e != "[DONE]" and "error" not in e]


def deltas(events: list, key: str) -> str:
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in chunks(events) if c["choices"])


def accumulate(events: list) -> object:
    """The openai SDK's own accumulator (what `client.chat.completions.stream()` uses).

    The snapshot, not `get_final_completion()`: that one raises on "length" and "content_filter" by design.
    """
    state = ChatCompletionStreamState()
    for chunk in chunks(events):
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.current_completion_snapshot


def sdk_stream(out: bytes) -> openai.Stream:
    """Our bytes read by the openai SDK's SSE decoder, as a client would."""
    client = openai.OpenAI(api_key="test", base_url="http://proxy.test/v1")
    response = httpx.Response(
        200, content=out, headers={"content-type": "text/event-stream"},
        request=httpx.Request("POST", "http://proxy.test/v1/chat/completions"),
    )
    return openai.Stream(cast_to=ChatCompletionChunk, response=response, client=client)


def normalized(out: bytes) -> bytes:
    return CALL_ID.sub(b"call_X", out)


# -- golden: recorded streams --------------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [True, False])
def test_text_stream_follows_the_openai_chunk_format_04(include_usage):
    events, translator = run(sample_bytes("04"), include_usage=include_usage)
    assert events[-1] == "[DONE]"
    body = chunks(events)
    for chunk in body:
        ChatCompletionChunk.model_validate(chunk)
        assert (chunk["id"], chunk["object"], chunk["created"], chunk["model"]) == (
            "chatcmpl-test", "chat.completion.chunk", 1700000000, "vx-flash")
        assert chunk["system_fingerprint"] is None
    roles = [c for c in body if c["choices"] and "role" in c["choices"][0]["delta"]]
    assert roles == body[:1]
    assert body[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    finals = [c for c in body if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finals) == 1 and finals[0]["choices"][0] == {
        "index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    vertex_text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in sse_events("04"))
    assert deltas(events, "content") == vertex_text
    usage = {"prompt_tokens": 12, "completion_tokens": 1706, "total_tokens": 1718,
             "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
    if include_usage:
        assert body[-1]["choices"] == [] and body[-1]["usage"] == usage
        assert finals[0] is body[-2]
        assert all(c["usage"] is None for c in body[:-1])  # the spec's `"usage": null` on other chunks
    else:
        assert finals[0] is body[-1]
        assert all("usage" not in c and c["choices"] for c in body)  # no empty-choices chunk
    assert translator.usage == usage  # known to the addon either way
    assert translator.finish_reason == "stop" and translator.finished and not translator.failed
    assert translator.chunks_out == len(body)
    assert translator.text == vertex_text


def test_openai_sdk_reads_the_stream_04():
    out = translate_stream_body(sample_bytes("04"), context(include_usage=True))
    received = list(sdk_stream(out))
    assert received[-1].usage.total_tokens == 1718
    assert "".join(c.choices[0].delta.content or "" for c in received if c.choices).startswith("Okay, let'")


def test_pain10_streaming_tool_call_chunk_shape_07b():
    store = SignatureStore()
    events, translator = run(sample_bytes("07b"), store, include_usage=True)
    calls = [c["choices"][0]["delta"]["tool_calls"] for c in chunks(events)
             if c["choices"] and "tool_calls" in c["choices"][0]["delta"]]
    assert len(calls) == 2
    start, args = calls[0][0], calls[1][0]
    assert start["index"] == 0 and start["type"] == "function"
    assert CALL_ID.fullmatch(start["id"].encode())
    assert start["function"] == {"name": "now", "arguments": ""}
    assert args == {"index": 0, "function": {"arguments": "{}"}}
    state = ChatCompletionStreamState()
    for chunk in chunks(events):
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    [call] = final.choices[0].message.tool_calls
    assert (call.id, call.function.name, call.function.arguments) == (start["id"], "now", "{}")
    signature = sse_events("07b")[2]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert store.lookup_call(start["id"], "now", {}) == signature
    assert translator.finish_reason == "tool_calls"
    assert "[tool_call now {}]" in translator.text


def test_pain9_parallel_calls_stream_as_indexes_0_1_2():
    body = to_sse([sample_json("06")])
    events, _ = run(body)
    starts = [c["choices"][0]["delta"] for c in chunks(events) if "id" in json.dumps(c["choices"][0]["delta"])]
    assert starts[0]["role"] == "assistant" and starts[0]["content"] is None  # role merged, once
    final = accumulate(events)
    assert final.choices[0].finish_reason == "tool_calls"
    assert [json.loads(c.function.arguments) for c in final.choices[0].message.tool_calls] == [
        {"y": 1, "x": 2}, {"y": 3, "x": 4}, {"y": 5, "x": 6}]
    indexes = [tc["index"] for c in chunks(events) for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert indexes == [0, 0, 1, 1, 2, 2]
    finals = [c for c in chunks(events) if c["choices"][0]["finish_reason"]]
    assert len(finals) == 1


def test_pain11_cumulative_usage_is_not_summed_14():
    events, translator = run(sample_bytes("14"), include_usage=True)
    assert chunks(events)[-1]["usage"] == {
        "prompt_tokens": 18, "completion_tokens": 80 + 35, "total_tokens": 133,
        "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 35}}
    assert translator.usage["total_tokens"] == 133


def test_usage_chunk_even_without_any_usage_metadata():
    body = to_sse([{"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}]}])
    events, translator = run(body, include_usage=True)
    assert chunks(events)[-1]["usage"]["total_tokens"] == 0
    assert translator.usage is None


def test_bare_error_object_ends_the_stream_17():
    out = translate_stream_body(sample_bytes("17"), context())
    events = parse(out)
    assert deltas(events, "content") == "First Second "
    assert events[-1] == {"error": {"message": "The operation was cancelled.", "type": "server_error",
                                    "param": None, "code": "upstream_cancelled"}}
    assert "[DONE]" not in events
    assert not any(c["choices"][0]["finish_reason"] for c in chunks(events))
    with pytest.raises(openai.APIError, match="cancelled"):
        list(sdk_stream(out))


def test_old_vertex_stop_on_every_chunk_gives_one_finish_chunk():
    body = to_sse(sse_events("17"))  # both events say finishReason STOP; no error here
    events, _ = run(body)
    finals = [c for c in chunks(events) if c["choices"][0]["finish_reason"]]
    assert len(finals) == 1 and finals[0] is chunks(events)[-1]
    assert deltas(events, "content") == "First Second "


def test_data_error_event_mid_stream():
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    body = to_sse([*sse_events("04")[:2], error, sse_events("04")[2]])
    translator = StreamTranslator(context())
    out = translator.feed(body)
    events = parse(out)
    assert events[-1]["error"]["code"] == "service_unavailable"
    assert events[-1]["error"]["type"] == "server_error"
    assert "overloaded" in events[-1]["error"]["message"]
    assert deltas(events, "content") == "Okay, let'"  # nothing after the error
    assert translator.failed
    assert translator.finish() == b"" and translator.feed(b"data: {}\r\n\r\n") == b""


def test_stream_without_finish_reason_does_not_look_complete():
    body = to_sse(sse_events("04")[:-1])  # the connection closed before the last event
    translator = StreamTranslator(context(include_usage=True))
    out = translator.feed(body) + translator.finish()
    events = parse(out)
    assert events[-1]["error"]["code"] == "upstream_incomplete"
    assert "[DONE]" not in events and translator.failed and translator.finish_reason is None
    with pytest.raises(openai.APIError):
        list(sdk_stream(out))


def test_truncated_last_event_is_an_error():
    body = sample_bytes("04")
    events, translator = run(body[: len(body) - 40])
    assert events[-1]["error"]["code"] == "bad_upstream_response"
    assert translator.failed


def test_empty_upstream_body_is_an_error():
    events, _ = run(b"")
    assert events == [{"error": {"message": "Vertex AI ended the stream without a finish reason: "
                                            "the reply is incomplete.",
                                 "type": "server_error", "param": None, "code": "upstream_incomplete"}}]


def test_last_event_without_trailing_blank_line_is_flushed():
    body = sample_bytes("04").rstrip(b"\r\n")
    events, translator = run(body)
    assert events[-1] == "[DONE]" and translator.finish_reason == "stop"
    assert deltas(events, "content").endswith("in no time.\n")


def test_fail_mid_stream_for_idle_timeout():
    translator = StreamTranslator(context(include_usage=True))
    first = parse(translator.feed(to_sse(sse_events("04")[:1])))
    assert deltas(first, "content") == "Okay"
    error = parse(translator.fail("Vertex AI sent nothing for 120 s.", "upstream_timeout"))
    assert error == [{"error": {"message": "Vertex AI sent nothing for 120 s.", "type": "server_error",
                                "param": None, "code": "upstream_timeout"}}]
    assert translator.failed
    assert translator.feed(sample_bytes("04")) == b"" and translator.finish() == b""
    assert translator.fail("again") == b""


def test_fail_after_done_is_a_no_op():
    translator = StreamTranslator(context())
    translator.feed(sample_bytes("04"))
    assert translator.finish().endswith(b"data: [DONE]\n\n")
    assert translator.fail("late") == b"" and not translator.failed


def test_blocked_prompt_stream():
    body = to_sse([sample_json("08b")])
    events, translator = run(body, include_usage=True)
    final = accumulate(events)
    text = "Prompt blocked by Vertex AI: MODEL_ARMOR — The prompt violated Prompt Injection and Jailbreak filters."
    assert final.choices[0].finish_reason == "content_filter"
    assert final.choices[0].message.refusal == text and final.choices[0].message.content == text
    assert events[-1] == "[DONE]" and translator.finish_reason == "content_filter"


def test_safety_finish_stream_without_text():
    body = to_sse([{"candidates": [{"content": {"role": "model"}, "finishReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}]}]}])
    final = accumulate(run(body)[0])
    assert final.choices[0].finish_reason == "content_filter"
    assert final.choices[0].message.refusal == "Response blocked by Vertex AI: SAFETY (HARASSMENT)"


def test_pain13_malformed_call_stream_is_not_empty():
    body = to_sse([{"candidates": [{"content": {}, "finishReason": "MALFORMED_FUNCTION_CALL",
                                    "finishMessage": "Malformed function call: x("}]}])
    final = accumulate(run(body)[0])
    assert final.choices[0].finish_reason == "stop"
    assert "MALFORMED_FUNCTION_CALL" in final.choices[0].message.content
    assert "Malformed function call: x(" in final.choices[0].message.content


def test_empty_answer_still_gets_role_and_finish():
    body = to_sse([{"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}]}])
    events, _ = run(body)
    assert [c["choices"][0]["delta"] for c in chunks(events)] == [{"role": "assistant", "content": ""}, {}]


# -- reasoning -----------------------------------------------------------------------------------


def _thinking_events() -> list[dict]:
    thoughts = sse_events("07b")[:2]
    answer = {"candidates": [{"content": {"parts": [{"text": "About 150 days."}], "role": "model"},
                              "finishReason": "STOP", "index": 0}]}
    return [*thoughts, answer]


def test_pain12_reasoning_content_deltas():
    events, _ = run(to_sse(_thinking_events()), reasoning_output="reasoning_content")
    assert deltas(events, "reasoning_content").startswith("**Calculating the Days**")
    assert deltas(events, "content") == "About 150 days."


def test_pain12_think_tags_open_on_first_thought_and_close_before_the_answer():
    events, translator = run(to_sse(_thinking_events()), reasoning_output="think_tags")
    content = deltas(events, "content")
    assert content.startswith("<think>\n**Calculating the Days**")
    assert content.count("<think>") == 1 and content.endswith("\n</think>\n\nAbout 150 days.")
    assert translator.text == "About 150 days."


def test_pain12_think_tags_closed_before_a_tool_call_07b():
    events, _ = run(sample_bytes("07b"), reasoning_output="think_tags")
    final = accumulate(events)
    assert final.choices[0].message.content.endswith("\n</think>\n\n")
    assert final.choices[0].message.tool_calls[0].function.name == "now"


def test_think_tags_closed_at_the_end_when_only_thoughts():
    events, _ = run(to_sse([{"candidates": [{"content": {"parts": [{"text": "hmm", "thought": True}]},
                                             "finishReason": "MAX_TOKENS"}]}]), reasoning_output="think_tags")
    assert deltas(events, "content") == "<think>\nhmm\n</think>\n\n"
    assert chunks(events)[-1]["choices"][0]["finish_reason"] == "length"


def test_pain12_hidden_thoughts():
    events, _ = run(to_sse(_thinking_events()), reasoning_output="hidden")
    assert "Calculating" not in json.dumps(events)
    assert deltas(events, "content") == "About 150 days."


def test_text_signature_is_stored_after_the_stream():
    events = [
        {"candidates": [{"content": {"parts": [{"text": "The capital "}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "is Paris.", "thoughtSignature": "c2ln"}]},
                         "finishReason": "STOP"}]},
    ]
    store = SignatureStore()
    run(to_sse(events), store)
    assert store.get(text_key("The capital is Paris.")) == "c2ln"


# -- several candidates, logprobs ----------------------------------------------------------------


def test_two_candidates_each_get_role_once_and_one_finish():
    body = to_sse([
        {"candidates": [{"content": {"parts": [{"text": "A"}]}}, {"content": {"parts": [{"text": "B"}]}, "index": 1}]},
        {"candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"},
                        {"content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS", "index": 1}]},
    ])
    events, _ = run(body, n=2)
    final = accumulate(events)
    assert [(c.message.content, c.finish_reason) for c in final.choices] == [("Aa", "stop"), ("Bb", "length")]
    for index in (0, 1):
        mine = [c["choices"][0] for c in chunks(events) if c["choices"][0]["index"] == index]
        assert sum("role" in c["delta"] for c in mine) == 1 and "role" in mine[0]["delta"]
        assert sum(c["finish_reason"] is not None for c in mine) == 1 and mine[-1]["finish_reason"]


def test_logprobs_ride_on_the_content_delta():
    body = to_sse([{"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP",
                                    "logprobsResult": {"chosenCandidates": [{"token": "Hi", "logProbability": -0.5}],
                                                       "topCandidates": [{"candidates": [{"token": "Hi"}]}]}}]}])
    events, _ = run(body)
    with_logprobs = [c["choices"][0] for c in chunks(events) if c["choices"][0]["logprobs"]]
    assert len(with_logprobs) == 1 and with_logprobs[0]["delta"] == {"content": "Hi"}
    assert with_logprobs[0]["logprobs"]["content"][0]["logprob"] == -0.5


# -- framing robustness --------------------------------------------------------------------------


def _whole(prefix: str, **fields) -> bytes:
    translator = StreamTranslator(context(**fields))
    return normalized(translator.feed(sample_bytes(prefix)) + translator.finish())


def _pieces(body: bytes, cuts: list[int], **fields) -> bytes:
    translator = StreamTranslator(context(**fields))
    out, last = [], 0
    for cut in sorted(set(cuts)) + [len(body)]:
        out.append(translator.feed(body[last:cut]))
        last = cut
    return normalized(b"".join(out) + translator.finish())


@pytest.mark.parametrize("prefix", STREAMS)
def test_split_at_every_byte_boundary_gives_the_same_events(prefix):
    body = sample_bytes(prefix)
    expected = _whole(prefix, include_usage=True)
    for cut in range(1, len(body)):
        assert _pieces(body, [cut], include_usage=True) == expected, cut


@settings(max_examples=60, deadline=None)
@given(prefix=st.sampled_from(STREAMS), fractions=st.lists(st.floats(0, 1), max_size=40))
def test_random_splits_give_the_same_events(prefix, fractions):
    body = sample_bytes(prefix)
    cuts = [int(f * len(body)) for f in fractions]
    assert _pieces(body, cuts) == _whole(prefix)


@settings(max_examples=30, deadline=None)
@given(fractions=st.lists(st.floats(0, 1), max_size=30), eol=st.sampled_from([b"\n", b"\r", b"\r\n"]))
def test_random_splits_with_any_line_ending(fractions, eol):
    body = sample_bytes("07b").replace(b"\r\n", eol)
    cuts = [int(f * len(body)) for f in fractions]
    assert _pieces(body, cuts) == _whole("07b")


@pytest.mark.parametrize("eol", [b"\n", b"\r"], ids=["LF", "CR"])
def test_lf_only_and_cr_only_framing(eol):
    body = sample_bytes("04").replace(b"\r\n", eol)
    translator = StreamTranslator(context(include_usage=True))
    assert normalized(translator.feed(body) + translator.finish()) == _whole("04", include_usage=True)


def test_a_complete_event_is_released_at_once():
    translator = StreamTranslator(context())
    first, *_ = sample_bytes("04").split(b"\r\n\r\n")
    assert translator.feed(first) == b""  # the line has not ended yet
    assert b'"content":"Okay"' in translator.feed(b"\r")  # CR ends it: no wait for LF or a blank line
    assert translator.feed(b"\n\r\n") == b""


def test_sse_comments_pass_through_and_other_fields_are_ignored():
    """The relay's `: ping` keep-alives reach the client; `event:`/`id:` lines change nothing."""
    body = b": ping\r\n\r\nevent: message\r\nid: 1\r\n" + sample_bytes("04")
    translator = StreamTranslator(context())
    out = translator.feed(body) + translator.finish()
    assert out.startswith(b": ping\n\n")
    assert normalized(out.removeprefix(b": ping\n\n")) == _whole("04")


def test_json_array_stream_form():
    events = sse_events("07b")
    body = ("[" + "\r\n,\r\n".join(json.dumps(e, indent=2) for e in events) + "\r\n]").encode()
    translator = StreamTranslator(context())
    assert normalized(translator.feed(body) + translator.finish()) == _whole("07b")


def test_json_array_error_body():
    translator = StreamTranslator(context())
    out = translator.feed(sample_bytes("12")) + translator.finish()
    [event] = parse(out)
    assert event["error"]["code"] == "rate_limit_exceeded" and translator.failed


def test_translate_stream_body_equals_feed_and_finish():
    assert normalized(translate_stream_body(sample_bytes("07b"), context())) == _whole("07b")


def test_sse_comment():
    assert sse_comment() == b": ping\n\n"
    assert sse_comment("a\nb") == b": a b\n\n"


def test_transcript_is_bounded():
    big = "x" * 50_000
    body = to_sse([{"candidates": [{"content": {"parts": [{"text": big}]}}]}] * 3
                  + [{"candidates": [{"content": {"parts": [{"text": "end"}]}, "finishReason": "STOP"}]}])
    _, translator = run(body)
    assert len(translator.text) == 64 * 1024


def test_unknown_event_shapes_are_tolerated():
    events = copy.deepcopy(sse_events("04"))
    events.insert(1, {"usageMetadata": {"trafficType": "ON_DEMAND"}})  # no candidates
    events.insert(2, {"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": ""}}]}}]})
    out, _ = run(to_sse(events))
    assert deltas(out, "content") == deltas(run(sample_bytes("04"))[0], "content")


@pytest.mark.parametrize("mode", ["reasoning_content", "think_tags", "hidden"])
def test_text_signature_matches_the_streamed_content_in_every_reasoning_mode(mode):
    events = _thinking_events()
    events[-1]["candidates"][0]["content"]["parts"][0]["thoughtSignature"] = "c2ln"
    store = SignatureStore()
    out, _ = run(to_sse(events), store, reasoning_output=mode)
    assert store.get(text_key(accumulate(out).choices[0].message.content)) == "c2ln"
    assert store.get(text_key("About 150 days.")) == "c2ln"


def test_multibyte_text_split_anywhere():
    pieces = ["Grüße, ", "東京 🌧️ ", "line\u2028separator", " 67°F"]
    events = [{"candidates": [{"content": {"parts": [{"text": p}]}}]} for p in pieces]
    events[-1]["candidates"][0]["finishReason"] = "STOP"
    body = b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\r\n\r\n" for e in events)
    whole = translate_stream_body(body, context())
    assert deltas(parse(whole), "content") == "".join(pieces)
    for cut in range(1, len(body)):
        translator = StreamTranslator(context())
        assert translator.feed(body[:cut]) + translator.feed(body[cut:]) + translator.finish() == whole
