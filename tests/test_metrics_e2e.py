"""Prometheus `GET /metrics` end to end: the openai SDK chats through the real proxy (and the emulator),
and the counters scraped from the proxy move accordingly."""

from __future__ import annotations

import openai
import pytest
import requests
from conftest import API_KEY, proxy_env
from fake_openai import FakeOpenAI
from prometheus_client.parser import text_string_to_metric_families
from proxy_process import ProxyProcess, free_port
from vertex_emulator import Reply

MODEL = "gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "count me"}]
AUTH = {"Authorization": f"Bearer {API_KEY}"}


class Scrape:
    """One scrape of /metrics: sample values by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def __call__(self, name: str, **labels: str) -> float:
        """The sum over every series of `name` whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)


def scrape(url: str, headers: dict | None = None) -> Scrape:
    resp = requests.get(url, headers=headers if headers is not None else AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return Scrape(resp.text)


def test_metrics_need_the_client_key(proxy):
    assert requests.get(proxy.url + "/metrics", timeout=10).status_code == 401
    assert requests.get(proxy.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
    metrics = scrape(proxy.url + "/metrics")
    assert metrics("vertex_bridge_circuit_open", upstream="vertex") == 0
    assert metrics("vertex_bridge_token_refreshes_total", result="ok") >= 1, "the startup refresh"


def test_counters_move_after_a_chat(client, proxy):
    before = scrape(proxy.url + "/metrics")
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                        stream_options={"include_usage": True}))
    after = scrape(proxy.url + "/metrics")

    def delta(name, **labels):
        return after(name, **labels) - before(name, **labels)

    assert delta("vertex_bridge_requests_total", model=MODEL, status="200", stream="false") == 1
    assert delta("vertex_bridge_requests_total", model=MODEL, status="200", stream="true") == 1
    assert delta("vertex_bridge_tokens_total", model=MODEL, type="input") >= 2
    assert delta("vertex_bridge_tokens_total", model=MODEL, type="output") >= 2
    for histogram in ("vertex_bridge_request_duration_seconds", "vertex_bridge_upstream_first_byte_seconds"):
        assert delta(f"{histogram}_count", model=MODEL, stream="true") == 1
        assert delta(f"{histogram}_sum", model=MODEL, stream="false") > 0
    assert delta("vertex_bridge_upstream_duration_seconds_count", model=MODEL, upstream="vertex") == 2
    assert delta("vertex_bridge_proxy_overhead_seconds_count") == 2
    assert delta("vertex_bridge_proxy_overhead_seconds_sum") > 0
    assert after("vertex_bridge_open_streams") == 0


def test_thinking_tokens_are_counted_as_reasoning(client, proxy, emulator):
    before = scrape(proxy.url + "/metrics")
    emulator.queue(Reply.thinking("let me think about this", "done").with_usage(
        promptTokenCount=7, candidatesTokenCount=3, thoughtsTokenCount=11, cachedContentTokenCount=5,
        totalTokenCount=21))
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    after = scrape(proxy.url + "/metrics")
    for kind, count in (("input", 7), ("output", 14), ("reasoning", 11), ("cached", 5)):
        assert after("vertex_bridge_tokens_total", type=kind) - before("vertex_bridge_tokens_total", type=kind) == count


def test_model_labels_are_bounded(client, proxy, emulator):
    before = scrape(proxy.url + "/metrics")
    client.chat.completions.create(model="vertex/" + MODEL, messages=MESSAGES)  # served: its own label
    client.chat.completions.create(model="some-model-the-client-made-up-1234", messages=MESSAGES)
    requests.post(proxy.url + "/v1/chat/completions", data=b"{not json", headers=AUTH, timeout=10)
    after = scrape(proxy.url + "/metrics")

    def delta(**labels):
        return after("vertex_bridge_requests_total", **labels) - before("vertex_bridge_requests_total", **labels)

    assert delta(model=MODEL, status="200") == 1
    assert delta(model="other", status="200") == 1
    assert delta(model="none", status="400") == 1
    models = {dict(ls)["model"] for (n, ls) in after.samples if n == "vertex_bridge_requests_total"}
    assert "some-model-the-client-made-up-1234" not in models


def test_retries_token_refreshes_and_upstream_429s(client, proxy, emulator):
    before = scrape(proxy.url + "/metrics")
    emulator.queue(Reply.error(503))  # retried, then served
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    emulator.revoke_all()  # a 401: the token is refreshed and the request repeated
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    emulator.queue(Reply.error(429), Reply.error(429), Reply.error(429))  # still 429 after two retries
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    after = scrape(proxy.url + "/metrics")

    def delta(name, **labels):
        return after(name, **labels) - before(name, **labels)

    assert delta("vertex_bridge_retries_total", upstream="vertex", reason="upstream_error") == 3
    assert delta("vertex_bridge_retries_total", upstream="vertex", reason="token_refresh") == 1
    assert delta("vertex_bridge_token_refreshes_total", result="ok") == 1
    assert delta("vertex_bridge_rate_limited_total", source="upstream") == 1
    assert delta("vertex_bridge_requests_total", model=MODEL, status="429") == 1


def test_separate_port_fallbacks_open_circuits_and_proxy_rate_limits(emulator, service_account, tmp_path):
    metrics_port = free_port()
    with FakeOpenAI() as fake:
        config = tmp_path / "vb.toml"
        config.write_text(
            'api_keys = ["key-a", "key-b"]\nretries = 0\nbreaker_threshold = 1\nbreaker_cooldown = 60\n'
            f'[rate_limit]\nrequests_per_minute = 2\nburst = 2\n\n[[fallback]]\nname = "deepseek"\n'
            f'base_url = "{fake.url}"\nmodel = "deepseek-chat"\n')
        env = proxy_env(emulator, service_account, VERTEX_BRIDGE_CONFIG=str(config), VERTEX_BRIDGE_API_KEYS="",
                        VERTEX_BRIDGE_METRICS_PORT=str(metrics_port))
        proc = ProxyProcess(env).wait_ready()
        try:
            url = f"http://127.0.0.1:{metrics_port}/metrics"
            metrics = scrape(url, headers={})  # no key on the separate port
            assert metrics("vertex_bridge_circuit_open", upstream="vertex") == 0
            main_port = requests.get(proc.url + "/metrics", headers={"Authorization": "Bearer key-a"}, timeout=10)
            assert main_port.status_code == 404, "not served on the main port when metrics_port is set"

            emulator.queue(Reply.error(503))
            b = openai.OpenAI(base_url=proc.url + "/v1", api_key="key-b", max_retries=0)
            assert b.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content == \
                "served by the fallback"
            a = openai.OpenAI(base_url=proc.url + "/v1", api_key="key-a", max_retries=0)
            a.chat.completions.create(model=MODEL, messages=MESSAGES)
            a.chat.completions.create(model=MODEL, messages=MESSAGES)
            with pytest.raises(openai.RateLimitError):
                a.chat.completions.create(model=MODEL, messages=MESSAGES)

            metrics = scrape(url, headers={})
            assert metrics("vertex_bridge_circuit_open", upstream="vertex") == 1
            assert metrics("vertex_bridge_circuit_open", upstream="deepseek") == 0
            assert metrics("vertex_bridge_fallbacks_total", upstream="deepseek") == 3
            assert metrics("vertex_bridge_upstream_duration_seconds_count", upstream="deepseek") == 3
            assert metrics("vertex_bridge_rate_limited_total", source="proxy") == 1
            assert metrics("vertex_bridge_rate_limited_total", source="upstream") == 0
            assert metrics("vertex_bridge_requests_total", status="429") == 1
            assert metrics("vertex_bridge_requests_total", model=MODEL, status="200") == 3
        finally:
            proc.stop()
