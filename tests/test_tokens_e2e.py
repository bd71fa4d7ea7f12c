"""Google tokens refresh with no user action: real google-auth refreshes against the emulator's OAuth
endpoint, through the real proxy."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from conftest import API_KEY, generate_entries, proxy_env
from proxy_process import ProxyProcess
from vertex_emulator import EmulatorServer, write_service_account

MESSAGES = [{"role": "user", "content": "hi"}]



def token_grants(emu):
    return [r for r in emu.token_requests if r.get("grant_type", "").endswith("jwt-bearer")]


@pytest.fixture
def short_lived(tmp_path):
    """An emulator that declares 240 s tokens but rejects them after 20 s, and a proxy using it."""
    with EmulatorServer(declared_expires_in=240, max_token_age=20) as emu:
        sa = write_service_account(tmp_path / "sa.json", emu.url + "/token")
        proxy = ProxyProcess(proxy_env(emu, sa)).wait_ready()
        try:
            yield emu, proxy, openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0)
        finally:
            proxy.stop()


def test_token_is_refreshed_before_vertex_rejects_it(short_lived):
    emu, proxy, client = short_lived
    client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
    first = generate_entries(emu)[-1]["token_id"]
    time.sleep(17)
    reply = client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
    assert reply.choices[0].message.content
    second = generate_entries(emu)[-1]
    assert second["token_id"] != first, "after ~17 s the proxy must present a new token"
    assert second["status"] == 200
    assert all(e["status"] == 200 for e in generate_entries(emu)), "no request may hit an expired token"


def test_fifty_concurrent_requests_share_one_refresh(tmp_path):
    # 226 s tokens go stale after 1 s (google-auth refreshes 3 min 45 s early), too soon for a
    # background refresh, so the burst below must trigger the refresh itself: exactly once.
    with EmulatorServer(declared_expires_in=226, max_token_age=240) as emu:
        sa = write_service_account(tmp_path / "sa.json", emu.url + "/token")
        proxy = ProxyProcess(proxy_env(emu, sa)).wait_ready()
        try:
            client = openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)
            client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
            time.sleep(1.3)
            before = len(token_grants(emu))
            with ThreadPoolExecutor(50) as pool:
                replies = list(pool.map(
                    lambda _: client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES),
                    range(50)))
            assert all(r.choices[0].message.content for r in replies)
            assert len(token_grants(emu)) - before == 1
        finally:
            proxy.stop()


def test_revoked_token_is_refreshed_and_request_retried(client, emulator, proxy):
    client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
    old = generate_entries(emulator)[-1]["token_id"]
    emulator.revoke_all()
    reply = client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
    assert "hi" in reply.choices[0].message.content
    entries = generate_entries(emulator)
    assert [e["status"] for e in entries[-2:]] == [401, 200]
    assert entries[-1]["token_id"] != old


def test_revoked_token_on_a_stream_is_retried_too(client, emulator):
    emulator.revoke_all()
    chunks = list(client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("hi")
    assert [e["status"] for e in generate_entries(emulator)[-2:]] == [401, 200]


def test_failed_refresh_is_a_503_that_says_how_to_fix_it(emulator, tmp_path):
    from proxy_process import free_port

    dead_token_uri = f"http://127.0.0.1:{free_port()}/token"  # nothing listens there
    sa = write_service_account(tmp_path / "sa.json", dead_token_uri)
    proxy = ProxyProcess(proxy_env(emulator, sa)).wait_ready()
    try:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0)
        with pytest.raises(openai.InternalServerError) as e:
            client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
        assert e.value.status_code == 503
        assert "gcloud auth application-default login" in e.value.message
        assert generate_entries(emulator) == [], "nothing may reach Vertex without a token"
    finally:
        proxy.stop()
