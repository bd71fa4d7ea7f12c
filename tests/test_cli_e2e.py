"""The `vertex-bridge` command: the emulator try-out, express mode, open mode and its refusal."""

from __future__ import annotations

import os
import subprocess
import sys

import openai
import requests

from conftest import proxy_env
from proxy_process import ROOT, ProxyProcess

MESSAGES = [{"role": "user", "content": "hello emulator"}]


def test_emulator_mode_needs_no_credentials():
    env = {"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent.json", "VERTEX_BRIDGE_API_KEYS": ""}
    proxy = ProxyProcess(env, args=["--emulator"]).wait_ready()
    try:
        resp = requests.post(proxy.url + "/v1/chat/completions", timeout=10,
                             json={"model": "gemini-2.5-flash", "messages": MESSAGES})
        assert resp.status_code == 200 and "hello emulator" in resp.json()["choices"][0]["message"]["content"]
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="unused", max_retries=0)
        chunks = list(client.chat.completions.create(model="vertex/gemini-2.5-flash", messages=MESSAGES, stream=True))
        assert "hello emulator" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        out = proxy.output()
        assert "EMULATOR MODE" in out and "NOT from Gemini" in out
        assert "No api_keys configured" in out
    finally:
        proxy.stop()


def test_express_mode_sends_the_api_key_and_no_oauth(emulator):
    env = {"VERTEX_BRIDGE_VERTEX_BASE_URL": emulator.url, "VERTEX_BRIDGE_GOOGLE_API_KEY": "emulator-key",
           "VERTEX_BRIDGE_API_KEYS": ""}
    proxy = ProxyProcess(env).wait_ready()
    try:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0)
        reply = client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES)
        assert "hello emulator" in reply.choices[0].message.content
        entry = [e for e in emulator.log if "generateContent" in e["path"]][-1]
        assert entry["path"] == "/v1/publishers/google/models/gemini-2.5-flash:generateContent"
        assert emulator.token_requests == []
    finally:
        proxy.stop()


def test_refuses_public_address_without_keys():
    env = {**os.environ, "VERTEX_BRIDGE_API_KEYS": "", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'scripts'}"}
    result = subprocess.run([sys.executable, "-m", "addon.cli", "--host", "0.0.0.0", "--port", "0"],
                            env=env, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without api_keys" in result.stderr


def test_bad_setting_stops_startup_with_one_line():
    env = {**os.environ, "VERTEX_BRIDGE_LISTEN_PORT": "not-a-port",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'scripts'}"}
    result = subprocess.run([sys.executable, "-m", "addon.cli"], env=env, capture_output=True, text=True,
                            timeout=30, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "'listen_port'" in result.stderr


def test_help_lists_the_flags():
    result = subprocess.run([sys.executable, "-m", "addon.cli", "--help"], capture_output=True, text=True,
                            timeout=30, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    for flag in ("--config", "--web", "--emulator", "--set"):
        assert flag in result.stdout


def test_mitmdump_refuses_all_interfaces_without_keys(emulator, service_account):
    env = {**proxy_env(emulator, service_account), "VERTEX_BRIDGE_API_KEYS": ""}
    proc = ProxyProcess(env, runner="mitmdump", args=["--mode", f"reverse:{emulator.url}@0"])
    try:
        proc.proc.wait(30)
        assert "without api_keys" in proc.output()
    finally:
        proc.stop()
