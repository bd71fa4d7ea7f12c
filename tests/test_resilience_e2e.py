"""Resilience end to end: error mapping, retries, fallback with circuit breakers, rate limits,
timeouts, pings and client disconnects — openai SDK -> proxy -> emulator (and a fake fallback)."""

from __future__ import annotations

import json

import openai
import pytest
import requests

from conftest import API_KEY, generate_entries, proxy_env
from fake_openai import FakeOpenAI
from proxy_process import ProxyProcess, free_port
from vertex_emulator import Reply

MODEL = "gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "hi"}]
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def generate_statuses(emulator) -> list[int]:
    return [e["status"] for e in generate_entries(emulator)]


@pytest.fixture(scope="module")
def no_retry_proxy(emulator, service_account):
    proc = ProxyProcess(proxy_env(emulator, service_account, VERTEX_BRIDGE_RETRIES="0")).wait_ready()
    yield proc
    proc.stop()


@pytest.fixture
def no_retry(no_retry_proxy):
    return openai.OpenAI(base_url=no_retry_proxy.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)


ERRORS = [
    (400, openai.BadRequestError, "invalid_request_error"),
    (403, openai.PermissionDeniedError, None),
    (404, openai.NotFoundError, "model_not_found"),
    (429, openai.RateLimitError, "rate_limit_exceeded"),
    (500, openai.InternalServerError, None),
    (503, openai.InternalServerError, None),
    (504, openai.InternalServerError, None),
]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream-array-wrapped"])
@pytest.mark.parametrize("status,exc,code", ERRORS, ids=[str(e[0]) for e in ERRORS])
def test_vertex_errors_map_to_openai_exceptions(no_retry, emulator, status, exc, code, stream):
    emulator.queue(Reply.error(status))
    with pytest.raises(exc) as e:
        result = no_retry.chat.completions.create(model=MODEL, messages=MESSAGES, stream=stream)
        list(result) if stream else None
    assert e.value.status_code == status
    if code:
        assert code in (e.value.code, e.value.body.get("code"), e.value.body.get("type"))
    assert e.value.message and "Traceback" not in e.value.message


def test_403_hint_names_the_iam_role(no_retry, emulator):
    emulator.queue(Reply.error(403))
    with pytest.raises(openai.PermissionDeniedError) as e:
        no_retry.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert "roles/aiplatform.user" in e.value.message


def test_persistent_401_after_refresh_is_an_authentication_error(no_retry, emulator):
    emulator.queue(Reply.error(401), Reply.error(401))
    with pytest.raises(openai.AuthenticationError):
        no_retry.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert generate_statuses(emulator) == [401, 401], "exactly one refresh-and-retry"


def test_mid_stream_error_event_raises_api_error(client, emulator):
    emulator.queue(Reply.text("one two three four", chunks=4).error_after(2, code=503))
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            received.append(chunk)
    assert received, "the chunks before the error still arrived"
    assert "503" in str(e.value.body) or e.value.message


def test_upstream_reset_mid_stream_is_never_a_complete_stream(proxy, emulator):
    emulator.queue(Reply.text("one two three four", chunks=4).drop_after(2))
    resp = requests.post(proxy.url + "/v1/chat/completions", headers=AUTH, timeout=30, stream=True,
                         json={"model": MODEL, "messages": MESSAGES, "stream": True})
    text = resp.content.decode()
    assert "[DONE]" not in text and '"finish_reason":"stop"' not in text
    last = [line for line in text.split("\n\n") if line.startswith("data: ")][-1]
    assert "broke mid-stream" in json.loads(last[6:])["error"]["message"]


def test_429_then_success_is_invisible(client, emulator, proxy):
    emulator.queue(Reply.error(429), Reply.error(503))
    logged = len(proxy.output())
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert "hi" in reply.choices[0].message.content
    assert generate_statuses(emulator) == [429, 503, 200]
    assert "status=200" in proxy.wait_for_output("retries=2", since=logged), "the log line counts the retries"


def test_stream_retry_still_streams(client, emulator):
    emulator.queue(Reply.error(503), Reply.text("a b c d", chunks=4))
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 4
    assert generate_statuses(emulator) == [503, 200]


def test_retry_after_is_honoured_and_passed_on(no_retry_proxy, emulator):
    emulator.queue(Reply.error(429))
    resp = requests.post(no_retry_proxy.url + "/v1/chat/completions", headers=AUTH, timeout=30,
                         json={"model": MODEL, "messages": MESSAGES})
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "rate_limit_exceeded"


def test_malformed_function_call_is_retried_once(client, emulator):
    emulator.queue(Reply.text("").finish("MALFORMED_FUNCTION_CALL", "Malformed function call: foo(bar"))
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert "hi" in reply.choices[0].message.content
    assert generate_statuses(emulator) == [200, 200]


def test_malformed_function_call_twice_is_never_silent(client, emulator):
    malformed = Reply.text("").finish("MALFORMED_FUNCTION_CALL", "Malformed function call: foo(bar")
    emulator.queue(malformed, Reply.text("").finish("MALFORMED_FUNCTION_CALL", "Malformed function call: foo(bar"))
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert "MALFORMED_FUNCTION_CALL" in reply.choices[0].message.content


def test_unreachable_vertex_is_a_json_502(emulator, service_account):
    env = proxy_env(emulator, service_account, VERTEX_BRIDGE_VERTEX_BASE_URL=f"http://127.0.0.1:{free_port()}",
                    VERTEX_BRIDGE_RETRIES="0")
    proc = ProxyProcess(env).wait_ready()
    try:
        resp = requests.post(proc.url + "/v1/chat/completions", headers=AUTH, timeout=30,
                             json={"model": MODEL, "messages": MESSAGES})
        assert resp.status_code == 502
        assert resp.json()["error"]["code"] == "upstream_unreachable"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def timing_proxy(emulator, service_account):
    env = proxy_env(emulator, service_account, VERTEX_BRIDGE_RETRIES="0", VERTEX_BRIDGE_PING_INTERVAL="0.2",
                    VERTEX_BRIDGE_IDLE_TIMEOUT="1.0", VERTEX_BRIDGE_FIRST_BYTE_TIMEOUT="1.0")
    proc = ProxyProcess(env).wait_ready()
    yield proc
    proc.stop()


def test_first_byte_timeout_is_504(timing_proxy, emulator):
    emulator.queue(Reply.text("late").delayed(2500))
    resp = requests.post(timing_proxy.url + "/v1/chat/completions", headers=AUTH, timeout=30,
                         json={"model": MODEL, "messages": MESSAGES})
    assert resp.status_code == 504 and resp.json()["error"]["code"] == "upstream_timeout"


def test_silence_is_filled_with_pings(timing_proxy, emulator):
    emulator.queue(Reply.text("slow thinker", chunks=2).paced(700))
    resp = requests.post(timing_proxy.url + "/v1/chat/completions", headers=AUTH, timeout=30, stream=True,
                         json={"model": MODEL, "messages": MESSAGES, "stream": True})
    text = resp.content.decode()
    assert ": ping" in text and text.rstrip().endswith("data: [DONE]")


def test_idle_gap_mid_stream_ends_with_an_error_event(timing_proxy, emulator):
    emulator.queue(Reply.text("a b c", chunks=3).paced(1800))
    client = openai.OpenAI(base_url=timing_proxy.url + "/v1", api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.APIError) as e:
        list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert "idle" in str(e.value.message)


def test_client_disconnect_closes_the_upstream_stream(proxy, emulator):
    emulator.queue(Reply.text(" ".join(["word"] * 60), chunks=60).paced(50))
    resp = requests.post(proxy.url + "/v1/chat/completions", headers=AUTH, timeout=30, stream=True,
                         json={"model": MODEL, "messages": MESSAGES, "stream": True})
    lines = resp.iter_lines()
    for _ in range(3):
        next(lines)
    resp.close()
    entry = emulator.wait_until(
        lambda: next((e for e in emulator.log if e.get("client_disconnected")), None), timeout=5)
    assert entry["chunks_sent"] < 30
    health = requests.get(proxy.url + "/health", timeout=5).json()
    assert health["open_streams"] == 0


def test_fallback_serves_when_vertex_keeps_failing(emulator, service_account, tmp_path):
    with FakeOpenAI() as fake:
        config = tmp_path / "vb.toml"
        config.write_text(
            f'breaker_threshold = 2\nbreaker_cooldown = 60\nretries = 1\n\n[[fallback]]\nname = "deepseek"\n'
            f'base_url = "{fake.url}"\napi_key_env = "FAKE_KEY"\nmodel = "deepseek-chat"\n')
        env = proxy_env(emulator, service_account, VERTEX_BRIDGE_CONFIG=str(config), FAKE_KEY="sk-fallback")
        proc = ProxyProcess(env).wait_ready()
        try:
            client = openai.OpenAI(base_url=proc.url + "/v1", api_key=API_KEY, max_retries=0)
            emulator.queue(Reply.error(503), Reply.error(503))
            raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
            assert raw.headers["x-vertex-bridge-upstream"] == "deepseek"
            assert raw.parse().choices[0].message.content == "served by the fallback"
            assert fake.requests[-1]["body"]["model"] == "deepseek-chat"
            assert fake.requests[-1]["auth"] == "Bearer sk-fallback"
            circuits = requests.get(proc.url + "/health", timeout=5).json()["circuits"]
            assert circuits["vertex"]["state"] == "open"
            # While Vertex's circuit is open, requests go straight to the fallback, streams included.
            before = len(emulator.log)
            chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "served by the fallback"
            assert len(emulator.log) == before
            assert "upstream=deepseek" in proc.wait_for_output("upstream=deepseek")
        finally:
            proc.stop()


def test_rate_limit_per_key_with_openai_headers(emulator, service_account, tmp_path):
    config = tmp_path / "vb.toml"
    config.write_text('api_keys = ["key-a", "key-b"]\n[rate_limit]\nrequests_per_minute = 2\nburst = 2\n')
    env = proxy_env(emulator, service_account, VERTEX_BRIDGE_CONFIG=str(config), VERTEX_BRIDGE_API_KEYS="")
    proc = ProxyProcess(env).wait_ready()
    try:
        def post(key):
            return requests.post(proc.url + "/v1/chat/completions", timeout=30,
                                 headers={"Authorization": f"Bearer {key}"},
                                 json={"model": MODEL, "messages": MESSAGES})
        first, second, third = post("key-a"), post("key-a"), post("key-a")
        assert first.status_code == second.status_code == 200
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert second.headers["x-ratelimit-remaining-requests"] == "0"
        assert third.status_code == 429
        assert int(third.headers["retry-after"]) >= 1
        assert third.json()["error"]["type"] == "requests"
        assert third.json()["error"]["code"] == "rate_limit_exceeded"
        assert "x-ratelimit-reset-requests" in third.headers
        assert post("key-b").status_code == 200, "another key has its own bucket"
        client = openai.OpenAI(base_url=proc.url + "/v1", api_key="key-a", max_retries=0)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        proc.stop()


def test_malformed_function_call_in_a_stream_is_retried_once(client, emulator):
    emulator.queue(Reply.text("").finish("MALFORMED_FUNCTION_CALL", "Malformed function call: foo(bar"))
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("hi")
    assert generate_statuses(emulator) == [200, 200]


def test_tokens_per_minute_is_charged_from_vertex_usage(emulator, service_account, tmp_path):
    config = tmp_path / "vb.toml"
    config.write_text("[rate_limit]\ntokens_per_minute = 30\n")
    proc = ProxyProcess(proxy_env(emulator, service_account, VERTEX_BRIDGE_CONFIG=str(config))).wait_ready()
    try:
        client = openai.OpenAI(base_url=proc.url + "/v1", api_key=API_KEY, max_retries=0)
        emulator.queue(Reply.text("x").with_usage(promptTokenCount=10, candidatesTokenCount=15, totalTokenCount=25))
        client.chat.completions.create(model=MODEL, messages=MESSAGES)  # 25 of 30 spent
        emulator.queue(Reply.text("x").with_usage(promptTokenCount=10, candidatesTokenCount=15, totalTokenCount=25))
        client.chat.completions.create(model=MODEL, messages=MESSAGES)  # 5 left: allowed, now in debt
        with pytest.raises(openai.RateLimitError) as e:
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert "tokens per minute" in e.value.message
    finally:
        proc.stop()


def test_client_disconnect_cancels_a_waiting_unary_call(proxy, emulator):
    emulator.queue(Reply.text("too late").delayed(3000))  # the model "thinks" for 3 s
    logged = len(proxy.output())
    with pytest.raises(requests.exceptions.ReadTimeout):  # the client gives up after 0.5 s and hangs up
        requests.post(proxy.url + "/v1/chat/completions", headers=AUTH, timeout=0.5,
                      json={"model": MODEL, "messages": MESSAGES})
    entry = emulator.wait_until(
        lambda: next((e for e in reversed(emulator.log) if e.get("status") or e.get("client_disconnected")), None),
        timeout=8)
    assert entry["client_disconnected"], "the proxy closed its upstream call instead of waiting for the reply"
    assert "killed" in proxy.wait_for_output("killed", since=logged).lower(), "the access log says what happened"
