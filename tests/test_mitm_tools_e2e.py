"""The same addon under mitmproxy's own tools: `mitmdump -s` and `mitmweb -s addon/vertex_bridge.py`."""

from __future__ import annotations

import openai
import pytest

from conftest import API_KEY, proxy_env
from proxy_process import ProxyProcess


@pytest.mark.parametrize("tool", ["mitmdump", "mitmweb"])
def test_script_runs_under_mitmproxy_tool(tool, emulator, service_account):
    proc = ProxyProcess(proxy_env(emulator, service_account), runner=tool)
    try:
        proc.wait_ready()
        client = openai.OpenAI(base_url=proc.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)
        reply = client.chat.completions.create(
            model="vertex/gemini-2.5-flash", messages=[{"role": "user", "content": f"hello from {tool}"}])
        assert f"hello from {tool}" in reply.choices[0].message.content
        chunks = list(client.chat.completions.create(
            model="gemini-2.5-flash", stream=True, messages=[{"role": "user", "content": "and a stream"}]))
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
        assert "switching to --mode reverse:" in proc.output()
    finally:
        proc.stop()


def test_explicit_mode_is_respected(emulator, service_account):
    from proxy_process import free_port

    port = free_port()
    proc = ProxyProcess(proxy_env(emulator, service_account), runner="mitmdump",
                        args=["--mode", f"reverse:{emulator.url}@127.0.0.1:{port}"])
    proc.port, proc.url = port, f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready()
        client = openai.OpenAI(base_url=proc.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)
        assert client.chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}]).choices[0].message.content
        assert "switching to --mode" not in proc.output()
    finally:
        proc.stop()
