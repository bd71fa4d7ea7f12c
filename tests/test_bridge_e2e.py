"""End to end: the official openai SDK -> vertex-bridge (lean runner) -> the Vertex emulator."""

from __future__ import annotations

import json
import time

import openai
import pytest
import requests

from conftest import API_KEY, PROJECT, generate_entries

MODEL = "gemini-2.5-flash"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def last_request(emulator) -> dict:
    generate = generate_entries(emulator)
    assert generate, "the emulator saw no generate request"
    return generate[-1]


def raw_stream(proxy, body: dict) -> list[str]:
    """The proxy's SSE reply as a list of `data:` payloads, read without any SDK in between."""
    resp = requests.post(proxy.url + "/v1/chat/completions", json=body, headers=AUTH, stream=True, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    text = resp.content.decode()
    return [line[len("data: "):] for line in text.split("\n\n") if line.startswith("data: ")]


def test_non_stream_chat(client, emulator):
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello there"}])
    assert "hello there" in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == MODEL
    assert reply.id.startswith("chatcmpl-")
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    sent = last_request(emulator)
    assert sent["path"] == f"/v1/projects/{PROJECT}/locations/global/publishers/google/models/{MODEL}:generateContent"


def test_stream_chat_chunk_format(client, emulator):
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "stream me a reply"}], stream=True))
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.role) == 1
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert all(c.usage is None for c in chunks), "no usage chunk unless include_usage is asked for"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "stream me a reply" in text
    sent = last_request(emulator)
    assert sent["path"].endswith(f"/models/{MODEL}:streamGenerateContent")
    assert sent["query"].get("alt") == "sse"


def test_stream_include_usage_and_done(proxy):
    events = raw_stream(proxy, {"model": MODEL, "stream": True, "stream_options": {"include_usage": True},
                                "messages": [{"role": "user", "content": "count my tokens"}]})
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] > 0
    finish = json.loads(events[-3])
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert all(json.loads(e)["object"] == "chat.completion.chunk" for e in events[:-1])


def test_system_and_developer_become_system_instruction(client, emulator):
    client.chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": "hi"},
    ])
    body = last_request(emulator)["body"]
    instruction = " ".join(p["text"] for p in body["systemInstruction"]["parts"])
    assert "You are terse." in instruction and "Answer in French." in instruction
    assert [c["role"] for c in body["contents"]] == ["user"]


def test_generation_parameters_are_mapped(client, emulator):
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], temperature=0.3, top_p=0.9,
        max_tokens=77, stop=["END"], seed=7, presence_penalty=0.5, frequency_penalty=0.25,
        user="someone", store=False, metadata={"a": "b"})
    config = last_request(emulator)["body"]["generationConfig"]
    assert config["temperature"] == 0.3 and config["topP"] == 0.9 and config["maxOutputTokens"] == 77
    assert config["stopSequences"] == ["END"] and config["seed"] == 7
    assert config["presencePenalty"] == 0.5 and config["frequencyPenalty"] == 0.25


def test_alias_and_echoed_model_name(client, emulator):
    reply = client.chat.completions.create(model=f"vertex/{MODEL}", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == f"vertex/{MODEL}"
    assert last_request(emulator)["path"].endswith(f"/models/{MODEL}:generateContent")


def test_chat_path_without_v1_prefix(proxy):
    resp = requests.post(proxy.url + "/chat/completions", headers=AUTH, timeout=10,
                         json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 200 and resp.json()["object"] == "chat.completion"


def test_missing_and_wrong_key_get_openai_401(proxy):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"x-api-key": "wrong"}):
        resp = requests.get(proxy.url + "/v1/models", headers=headers, timeout=10)
        assert resp.status_code == 401
        error = resp.json()["error"]
        assert error["type"] == "invalid_request_error" and error["code"] == "invalid_api_key"
        assert error["param"] is None and error["message"]
    bad = openai.OpenAI(base_url=proxy.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_bearer_and_x_api_key_both_work(proxy):
    assert requests.get(proxy.url + "/v1/models", headers=AUTH, timeout=10).status_code == 200
    assert requests.get(proxy.url + "/v1/models", headers={"x-api-key": API_KEY}, timeout=10).status_code == 200


def test_cors_preflight_needs_no_auth(proxy):
    resp = requests.options(proxy.url + "/v1/models", timeout=10, headers={
        "Origin": "vscode-file://vscode-app", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization, x-stainless-timeout"})
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "vscode-file://vscode-app"
    assert resp.headers["Access-Control-Allow-Headers"] == "authorization, x-stainless-timeout"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]


def test_health_is_open_and_reports_token(proxy):
    resp = requests.get(proxy.url + "/health", timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["vertex"]["token"] is True
    assert "ya29" not in resp.text and "private_key" not in resp.text


def test_models_list(client):
    ids = [m.id for m in client.models.list().data]
    for model in ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"):
        assert model in ids and f"vertex/{model}" in ids


def test_unknown_path_is_openai_404(proxy):
    resp = requests.get(proxy.url + "/v1/embeddingz", headers=AUTH, timeout=10)
    assert resp.status_code == 404 and "error" in resp.json()


def test_wrong_method_is_405(proxy):
    resp = requests.get(proxy.url + "/v1/chat/completions", headers=AUTH, timeout=10)
    assert resp.status_code == 405 and resp.json()["error"]["message"]


def test_bad_json_is_400(proxy):
    resp = requests.post(proxy.url + "/v1/chat/completions", headers={**AUTH, "content-type": "application/json"},
                         data=b'{"model": "x", "messages": [', timeout=10)
    assert resp.status_code == 400
    assert "json" in resp.json()["error"]["message"].lower()


def test_missing_messages_is_400_naming_the_field(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[])
    assert "messages" in str(e.value)


def test_body_over_limit_is_413(proxy):
    big = b'{"model":"m","messages":[{"role":"user","content":"' + b"x" * (33 * 1024 * 1024) + b'"}]}'
    resp = requests.post(proxy.url + "/v1/chat/completions", headers={**AUTH, "content-type": "application/json"},
                         data=big, timeout=30)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_too_large"


def test_vertex_400_is_passed_on_in_openai_shape(client, emulator):
    from vertex_emulator import Reply

    emulator.queue(Reply.error(400, "Invalid JSON payload received. Unknown name \"foo\" at 'contents[0]': "
                                    "Cannot find field."))
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert 'Unknown name "foo"' in e.value.message
    assert e.value.body["type"] == "invalid_request_error"


def test_vertex_error_before_stream_is_http_error(client, emulator):
    from vertex_emulator import Reply

    emulator.queue(Reply.error(404))
    with pytest.raises(openai.NotFoundError) as e:
        list(client.chat.completions.create(model="gemini-9-nope", stream=True,
                                            messages=[{"role": "user", "content": "hi"}]))
    assert "gemini-9-nope" in e.value.message


def test_scripted_reply_streams_in_order(client, emulator):
    from vertex_emulator import Reply

    emulator.queue(Reply.text("one two three four five six", chunks=6))
    chunks = list(client.chat.completions.create(model=MODEL, stream=True,
                                                 messages=[{"role": "user", "content": "count"}]))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) >= 6 and "".join(deltas) == "one two three four five six"


def test_google_token_is_sent_and_never_logged(client, emulator, proxy):
    logged = len(proxy.output())
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "secret prompt text"}])
    entry = last_request(emulator)
    assert entry["token_id"].startswith("tok-")
    log = proxy.wait_for_output(f"model={MODEL}", since=logged)
    assert "ya29" not in log and API_KEY not in log and "secret prompt text" not in log
    assert f"model={MODEL}" in log and "status=200" in log


def test_bodies_above_10_mb_work_up_to_the_limit(client, emulator):
    import base64

    image = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (8 * 1024 * 1024)).decode()  # ~11 MB as base64
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is in this picture"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}])
    assert "what is in this picture" in reply.choices[0].message.content
    part = last_request(emulator)["body"]["contents"][0]["parts"][1]
    assert part["inlineData"]["mimeType"] == "image/png" and len(part["inlineData"]["data"]) == len(image)


def test_json_log_lines_and_opt_in_bodies(emulator, service_account):
    from conftest import proxy_env
    from proxy_process import ProxyProcess

    env = proxy_env(emulator, service_account, VERTEX_BRIDGE_LOG_FORMAT="json", VERTEX_BRIDGE_LOG_BODIES="true")
    proc = ProxyProcess(env).wait_ready()
    try:
        client = openai.OpenAI(base_url=proc.url + "/v1", api_key=API_KEY, max_retries=0)
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "log this prompt"}])
        list(client.chat.completions.create(model=MODEL, stream=True,
                                            messages=[{"role": "user", "content": "and this stream"}]))
        def chat_lines():
            return [json.loads(line.split("] ", 1)[1]) for line in proc.output().splitlines()
                    if '"path": "/v1/chat/completions"' in line]

        deadline = time.monotonic() + 10  # a stream's line is written just after its last byte went out
        while len(chat_lines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        unary, stream = chat_lines()[-2:]
        assert unary["prompt"] == "log this prompt" and "log this prompt" in unary["reply"]
        assert stream["stream"] is True and "and this stream" in stream["reply"]
        assert unary["key"].startswith("k-") and API_KEY not in proc.output()
    finally:
        proc.stop()
