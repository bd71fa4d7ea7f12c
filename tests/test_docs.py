"""The docs stay true: the configuration reference matches the Settings model, troubleshooting covers
every error code the proxy can return, the architecture page names every module, links resolve, and the
client guides' example requests still work against the proxy (and the emulator) as pasted."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pkgutil
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import addon
import translators
from addon.settings import Settings
from conftest import API_KEY
from translators.errors import TranslatorError
from translators.upstream_errors import ERROR_TABLE

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GUIDES = ["cursor", "continue", "cline", "roo-code", "copilot", "aider", "openai-sdk", "langchain"]
REGENERATE = "docs/configuration.md is stale: run scripts/gen-config-docs (and commit the result)"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def doc(name: str) -> str:
    return (DOCS / name).read_text()


# --- the configuration reference -------------------------------------------------------------------

def test_configuration_reference_is_current():
    config_docs = _load("ship_config_docs", ROOT / "scripts" / "ship" / "config_docs.py")
    assert doc("configuration.md") == config_docs.render(), REGENERATE


def test_configuration_reference_lists_every_setting_with_its_sources():
    text = doc("configuration.md")
    for name, field in Settings.model_fields.items():
        assert f"### `{name}`" in text, REGENERATE
        extra = field.json_schema_extra
        for var in extra["env"]:
            assert f"`{var}`" in text, REGENERATE
        if extra["option"]:
            assert f"`--set {extra['option']}=…`" in text, REGENERATE


# --- troubleshooting -------------------------------------------------------------------------------

def _import_all() -> None:
    for package in (addon, translators):
        for module in pkgutil.iter_modules(package.__path__):
            if module.name != "vertex_bridge":  # the mitmdump script builds addons on import
                importlib.import_module(f"{package.__name__}.{module.name}")


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


ERROR_CALLS = r"\b(openai_error|_openai_error_event|error_event|_fail|fail|_broken)\("


def _literal_codes(source: str) -> set[str]:
    """Codes written as literals: the last argument of the calls that build an error body or event,
    `code="…"` keywords, and `code: str = "…"` defaults."""
    codes = set()
    for match in re.finditer(ERROR_CALLS, source):
        if source[max(0, match.start() - 4):match.start()] == "def ":
            continue
        depth, end = 1, match.end()
        while depth and end < len(source):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        args = source[match.end():end - 1]
        literals = re.findall(r'"([a-z_]+)"', args)
        if args.count(",") >= (2 if match[1] == "openai_error" else 1) and literals:
            codes.add(literals[-1])
    codes |= set(re.findall(r'\bcode="([a-z_]+)"', source))
    codes |= set(re.findall(r'\bcode: str(?: \| None)? = "([a-z_]+)"', source))
    return codes


def error_codes() -> set[str]:
    _import_all()
    codes = {cls.code for cls in _subclasses(TranslatorError) if cls.code}
    codes |= {row.code for row in ERROR_TABLE.values() if row.code}
    for path in [*(ROOT / "addon").glob("*.py"), *(ROOT / "translators").glob("*.py")]:
        codes |= _literal_codes(path.read_text())
    return codes


def test_troubleshooting_covers_every_error_code():
    text = doc("troubleshooting.md")
    codes = error_codes()
    assert {"invalid_api_key", "model_not_found", "upstream_not_found", "rate_limit_exceeded"} <= codes
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert not missing, f"docs/troubleshooting.md does not explain these error codes: {missing}"


def test_troubleshooting_covers_every_vertex_status():
    text = doc("troubleshooting.md")
    for status in ERROR_TABLE:
        assert f"`{status}`" in text, f"docs/troubleshooting.md lacks the Vertex status {status}"


def test_troubleshooting_quotes_the_startup_messages():
    from addon import tokens

    text = doc("troubleshooting.md")
    assert Settings().exposure_problem("HOST") in text
    assert tokens.FIX_HINT.split(",")[0].replace("`", "") in text.replace("`", "")
    assert "No api_keys configured: serving without client authentication (loopback only)." in text


# --- architecture and links ------------------------------------------------------------------------

def test_architecture_names_every_module():
    text = doc("architecture.md")
    for package in ("addon", "translators"):
        for path in sorted((ROOT / package).glob("*.py")):
            assert f"`{path.name}`" in text, (
                f"docs/architecture.md does not say what {package}/{path.name} is: add it to the module map")


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _markdown_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    text = path.read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.relative_to(ROOT)}: broken link {target}"
        if anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.M)
            assert anchor in {_slug(h) for h in headings}, f"{path.relative_to(ROOT)}: no heading for {target}"


# --- client guides ---------------------------------------------------------------------------------

@pytest.mark.parametrize("guide", GUIDES)
def test_guide_has_settings_a_verified_example_and_limits(guide):
    text = doc(f"clients/{guide}.md")
    for section in ("## Settings", "## Verified example", "## Known limits"):
        assert section in text, f"{guide}.md lacks {section!r}"
    assert "emulator" in text.split("## Verified example", 1)[1], "say that the output came from the emulator"


def test_cursor_guide_covers_tunnel_key_aliases_and_limits():
    text = doc("clients/cursor.md")
    for needed in ("cloudflared tunnel --url http://localhost:4000", "ngrok http 4000", "VERTEX_BRIDGE_API_KEYS",
                   "vertex/gemini-2.5-flash", "Verify", "CORS", "OPTIONS", "Agent mode", "Tab", "Apply",
                   "Override OpenAI Base URL", "-thinking"):
        assert needed in text, needed


def _shell_commands(text: str) -> list[str]:
    """The `curl` commands of the ```bash blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n", " ", block)
        starts = [m.start() for m in re.finditer(r"(?m)^curl ", joined)] + [len(joined)]
        commands += [joined[a:b].strip() for a, b in zip(starts, starts[1:])]
    return commands


def _curl_request(command: str) -> dict:
    args = shlex.split(command.replace("$VERTEX_BRIDGE_KEY", API_KEY))[1:]
    request = {"method": None, "headers": {}, "data": None, "url": None}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-X", "-H", "-d"):
            value = args[i + 1]
            if arg == "-X":
                request["method"] = value
            elif arg == "-H":
                name, _, header = value.partition(":")
                request["headers"][name.strip()] = header.strip()
            else:
                request["data"] = value
            i += 2
            continue
        if not arg.startswith("-"):
            request["url"] = arg
        i += 1
    request["method"] = request["method"] or ("POST" if request["data"] else "GET")
    return request


def _verified_examples():
    for guide in GUIDES:
        section = doc(f"clients/{guide}.md").split("## Verified example", 1)[1].split("\n## ", 1)[0]
        for command in _shell_commands(section):
            yield pytest.param(guide, command, id=f"{guide}:{command[:40]}")


@pytest.mark.parametrize(("guide", "command"), list(_verified_examples()))
def test_verified_curl_examples_still_work(proxy, guide, command):
    """Each example request runs against the real proxy and the emulator, as in the guide."""
    req = _curl_request(command)
    assert req["url"].startswith("http://127.0.0.1:4000/"), req["url"]
    url = proxy.url + req["url"][len("http://127.0.0.1:4000"):]
    resp = requests.request(req["method"], url, headers=req["headers"], data=req["data"], timeout=30)
    assert resp.status_code in (200, 204), resp.text
    if req["method"] == "OPTIONS":
        assert resp.headers["access-control-allow-origin"] == req["headers"]["Origin"]
        return
    if req["data"] is None:
        assert resp.json()["object"] == "list"
        return
    body = json.loads(req["data"])
    if body.get("stream"):
        events = [line[6:] for line in resp.text.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(e) for e in events[:-1]]
        assert {c["model"] for c in chunks} == {body["model"]}
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        has_usage = any(c.get("usage") for c in chunks)
        assert has_usage == bool((body.get("stream_options") or {}).get("include_usage"))
    else:
        reply = resp.json()
        assert reply["object"] == "chat.completion" and reply["model"] == body["model"]
        text = reply["choices"][0]["message"]["content"]
    last_user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    if isinstance(last_user, list):
        last_user = "".join(p.get("text", "") for p in last_user)
    assert text == f"[vertex-emulator] You said: {last_user}"


def _python_block(guide: str) -> tuple[str, str]:
    """The first ```python block of a guide's verified example, and the ```text output after it."""
    section = doc(f"clients/{guide}.md").split("## Verified example", 1)[1]
    match = re.search(r"```python\n(.*?)```\s*```text\n(.*?)```", section, flags=re.S)
    return match[1], match[2]


def _run_python(proxy, code: str) -> str:
    code = code.replace("http://127.0.0.1:4000/v1", proxy.url + "/v1")
    env = {**os.environ, "VERTEX_BRIDGE_KEY": API_KEY}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _same_shape(actual: str, pasted: str) -> None:
    """Line by line equal, except that numbers (token counts) may differ."""
    def norm(text: str) -> list[str]:
        return [re.sub(r"\d+", "N", line) for line in text.strip().splitlines()]
    assert norm(actual) == norm(pasted)


def test_openai_python_sdk_example_prints_what_the_guide_shows(proxy):
    code, pasted = _python_block("openai-sdk")
    _same_shape(_run_python(proxy, code), pasted)


def test_langchain_example_prints_what_the_guide_shows(proxy):
    pytest.importorskip("langchain_openai")
    code, pasted = _python_block("langchain")
    _same_shape(_run_python(proxy, code), pasted)


# --- debugging: the redaction script ---------------------------------------------------------------

def test_debugging_redaction_script_strips_credentials(tmp_path):
    from mitmproxy import io
    from mitmproxy.test import tflow

    script = re.search(r"saved as `redact_flows.py`:\n\n```python\n(.*?)```", doc("debugging.md"), flags=re.S)[1]
    (tmp_path / "redact_flows.py").write_text(script)
    secrets = ["ya29.google-token-123", "AIzaSyA-express-key-1234567890", "sk-client-key-123456"]
    flows = []
    for path in ("/v1/projects/p/locations/global/publishers/google/models/m:generateContent", "/health"):
        flow = tflow.tflow(resp=True)
        flow.request.path = path
        flow.request.headers["authorization"] = f"Bearer {secrets[0]}"
        flow.request.headers["x-goog-api-key"] = secrets[1]
        flow.request.content = f'{{"text": "my key is {secrets[2]}, see task-manager"}}'.encode()
        flow.metadata["client"] = {"headers": {"Authorization": f"Bearer {secrets[2]}"}}
        flows.append(flow)
    with open(tmp_path / "in.flows", "wb") as f:
        writer = io.FlowWriter(f)
        for flow in flows:
            writer.add(flow)
    mitmdump = Path(sys.executable).with_name("mitmdump")
    result = subprocess.run([str(mitmdump), "-n", "-r", "in.flows", "-s", "redact_flows.py", "-w", "out.flows",
                             "~u chat|generateContent"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    raw = (tmp_path / "out.flows").read_bytes()
    assert not any(secret.encode() in raw for secret in secrets)
    with open(tmp_path / "out.flows", "rb") as f:
        (kept,) = list(io.FlowReader(f).stream())
    assert kept.request.path.endswith(":generateContent")
    assert kept.request.headers["authorization"] == "REDACTED"
    assert b"task-manager" in kept.request.content
