"""Shared fixtures: the Vertex emulator (in-process, real sockets), a service-account file whose
token_uri points at it, and the real proxy in a subprocess talking to it."""

from __future__ import annotations

import pytest
from proxy_process import ProxyProcess
from vertex_emulator import EmulatorServer, write_service_account

API_KEY = "test-key-123"
PROJECT = "test-project"


@pytest.fixture(scope="session")
def emulator():
    with EmulatorServer() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_emulator(request):
    """Each test starts with an empty reply queue and request log."""
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()
    yield


@pytest.fixture(scope="session")
def service_account(emulator, tmp_path_factory):
    return write_service_account(tmp_path_factory.mktemp("sa") / "sa.json", emulator.url + "/token")


def proxy_env(emulator, service_account, **extra: str) -> dict[str, str]:
    return {
        "GOOGLE_APPLICATION_CREDENTIALS": str(service_account),
        "VERTEX_BRIDGE_VERTEX_BASE_URL": emulator.url,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "VERTEX_BRIDGE_API_KEYS": API_KEY,
        **extra,
    }


@pytest.fixture(scope="session")
def proxy(emulator, service_account):
    proc = ProxyProcess(proxy_env(emulator, service_account)).wait_ready()
    yield proc
    proc.stop()


@pytest.fixture
def client(proxy):
    import openai

    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)


def generate_entries(emulator) -> list[dict]:
    """The emulator's log entries for generate calls (unary and streamed), oldest first."""
    return [e for e in emulator.log if ":generateContent" in e["path"] or ":streamGenerateContent" in e["path"]]


def accepted(emulator) -> dict:
    """The body of the last generate request, which the emulator's strict validation must have accepted."""
    entries = generate_entries(emulator)
    assert entries, "the emulator saw no generate request"
    assert entries[-1]["status"] == 200, f"Vertex (emulator) refused the request: {entries[-1]}"
    return entries[-1]["body"]
