"""The Vertex emulator over real sockets: auth, wire formats, validation, scripting, fast mode, CLI."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import google.auth.transport.requests
import pytest
import requests
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from vertex_emulator import EmulatorServer, Reply, validate_request, validate_schema
from vertex_emulator.signatures import BYPASS

SAMPLES = Path("/work/shared/reference/vertex-samples")
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
PROJECT_PATH = "/{version}/projects/test-project/locations/us-central1/publishers/google/models/{model}:{method}"
EXPRESS_PATH = "/{version}/publishers/google/models/{model}:{method}"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello emulator"}]}]}
INVALID_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                       "or other valid authentication credential. "
                       "See https://developers.google.com/identity/sign-in/web/devconsole-project.")


# --- fixtures and helpers ------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    with EmulatorServer() as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    yield server
    server.reset()


def fake_jwt(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def issue_token(emu: EmulatorServer) -> str:
    now = int(time.time())
    claims = {"iss": "tester@p.iam.gserviceaccount.com", "scope": SCOPES[0], "iat": now, "exp": now + 3600,
              "aud": "https://oauth2.googleapis.com/token"}
    response = requests.post(emu.token_uri, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                  "assertion": fake_jwt(claims)})
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture
def token(emu):
    return issue_token(emu)


def generate(emu, token=None, body=HELLO, *, model="gemini-2.5-flash", stream=False, sse=True, version="v1",
             express=False, params=None, headers=None, stream_response=False) -> requests.Response:
    template = EXPRESS_PATH if express else PROJECT_PATH
    method = "streamGenerateContent" if stream else "generateContent"
    url = emu.url + template.format(version=version, model=model, method=method)
    query = dict(params or {})
    if stream and sse:
        query["alt"] = "sse"
    all_headers = {"Authorization": f"Bearer {token}"} if token else {}
    all_headers.update(headers or {})
    return requests.post(url, json=body, params=query, headers=all_headers, stream=stream_response)


def sse_events(raw: bytes) -> list[dict]:
    assert raw.endswith(b"\r\n\r\n")
    events = raw[:-4].split(b"\r\n\r\n")
    assert all(e.startswith(b"data: ") and b"\n" not in e for e in events)
    return [json.loads(e[6:]) for e in events]


def raw_post(emu, path: str, body: dict, token: str, timeout: float = 5) -> bytes:
    """POST over a bare socket and return everything until the server closes."""
    payload = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {emu.host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((emu.host, emu.port), timeout=timeout) as sock:
        sock.sendall(head.encode() + payload)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def sample_body(name: str) -> bytes:
    data = (SAMPLES / name).read_bytes()
    return data[data.index(b"#---\n") + 5:]


# --- OAuth ---------------------------------------------------------------------------------
def test_google_auth_service_account_refreshes_against_emulator(emu, tmp_path):
    key_file = emu.write_service_account(tmp_path / "sa.json")
    info = json.loads(key_file.read_text())
    assert info["token_uri"] == emu.token_uri and info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    creds = service_account.Credentials.from_service_account_file(str(key_file), scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.token.startswith("ya29.emu-") and creds.valid
    [record] = emu.token_requests
    assert record["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert record["subject"] == info["client_email"] and record["scope"] == SCOPES[0]
    assert record["expires_in"] == 3599
    assert generate(emu, creds.token).status_code == 200
    entry = emu.log[-1]
    assert entry["token_id"] == record["token_id"]
    assert entry["headers"]["Authorization"] == "Bearer <redacted>"
    assert creds.token not in json.dumps(emu.log)


def test_authorized_user_refresh_token_grant(emu):
    creds = user_credentials.Credentials(token=None, refresh_token="1//refresh", token_uri=emu.token_uri,
                                         client_id="cid", client_secret="secret", scopes=SCOPES)
    creds.refresh(google.auth.transport.requests.Request())
    assert generate(emu, creds.token).status_code == 200
    assert [r["grant_type"] for r in emu.token_requests] == ["refresh_token"]
    bad = requests.post(emu.token_uri, data={"grant_type": "password"})
    assert bad.status_code == 400 and bad.json()["error"] == "unsupported_grant_type"


def test_token_stops_working_after_max_token_age_while_declaring_longer_life():
    with EmulatorServer(declared_expires_in=3599, max_token_age=0.3) as emu:
        first = issue_token(emu)
        assert emu.token_requests[0]["expires_in"] == 3599
        assert generate(emu, first).status_code == 200
        time.sleep(0.4)
        expired = generate(emu, first)
        assert expired.status_code == 401
        error = expired.json()["error"]
        assert error["message"] == INVALID_CREDENTIALS and error["status"] == "UNAUTHENTICATED"
        assert error["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"
        assert "invalid_token" in expired.headers["WWW-Authenticate"]
        second = issue_token(emu)
        assert generate(emu, second).status_code == 200
        old_id, new_id = emu.log[-2]["token_id"], emu.log[-1]["token_id"]
        assert (old_id, new_id) == ("tok-1", "tok-2")
        assert len(emu.token_requests) == 2


def test_revoke_all_invalidates_issued_tokens(emu, token):
    assert emu.revoke_all() >= 1
    assert generate(emu, token).status_code == 401
    assert generate(emu, "ya29.never-issued").json()["error"]["message"] == INVALID_CREDENTIALS
    assert generate(emu, issue_token(emu)).status_code == 200


def test_missing_credentials_and_api_key_on_project_path(emu):
    missing = generate(emu)
    assert missing.status_code == 401 and missing.json()["error"]["status"] == "UNAUTHENTICATED"
    keyed = generate(emu, headers={"x-goog-api-key": "emulator-key"}, version="v1beta1")
    expected = json.loads(sample_body("11_vertex_error_401_unauthenticated_issue.json"))
    assert keyed.status_code == 401 and keyed.json() == expected


def test_express_mode_api_key(emu):
    assert generate(emu, express=True, params={"key": "emulator-key"}).status_code == 200
    assert generate(emu, express=True, headers={"x-goog-api-key": "emulator-key"}).status_code == 200
    wrong = generate(emu, express=True, params={"key": "nope"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "API key not valid. Please pass a valid API key."
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert emu.log[0]["express"] is True and emu.log[0]["query"]["key"] == "<redacted>"
    assert generate(emu, express=True).status_code == 401


# --- wire formats --------------------------------------------------------------------------
def test_unary_body_shape(emu, token):
    response = generate(emu, token)
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.text.startswith('{\n  "candidates": [\n    {\n')
    body = response.json()
    [candidate] = body["candidates"]
    assert "index" not in candidate and candidate["avgLogprobs"] < 0
    assert candidate["content"] == {"role": "model", "parts": [{"text": "[vertex-emulator] You said: hello emulator"}]}
    assert list(body) == ["candidates", "usageMetadata", "modelVersion", "createTime", "responseId"]
    usage = body["usageMetadata"]
    assert usage["promptTokenCount"] == 2 and usage["trafficType"] == "ON_DEMAND"
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["createTime"])
    assert len(body["responseId"]) == 23 and body["modelVersion"] == "gemini-2.5-flash"


def test_candidate_count_and_include_thoughts(emu, token):
    body = {**HELLO, "generationConfig": {"candidateCount": 2, "thinkingConfig": {"includeThoughts": True}}}
    result = generate(emu, token, body).json()
    first, second = result["candidates"]
    assert "index" not in first and second["index"] == 1
    assert first["content"]["parts"][0]["thought"] is True
    assert first["content"]["parts"][1]["text"] != second["content"]["parts"][1]["text"]
    assert result["usageMetadata"]["thoughtsTokenCount"] > 0


def test_sse_framing_and_usage_placement(emu, token):
    text = "The quick brown fox jumps over the lazy dog"
    emu.queue(Reply.text(text, chunks=4))
    response = generate(emu, token, stream=True)
    assert response.headers["Content-Type"] == "text/event-stream"
    events = sse_events(response.content)
    assert len(events) == 4
    assert "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events) == text
    assert all(e["usageMetadata"] == {"trafficType": "ON_DEMAND"} for e in events[:-1])
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert events[-1]["usageMetadata"]["candidatesTokenCount"] == 9
    assert {(e["modelVersion"], e["createTime"], e["responseId"]) for e in events} == {
        (events[0]["modelVersion"], events[0]["createTime"], events[0]["responseId"])}
    assert response.content.startswith(b'data: {"candidates": [{"content": {"role": "model","parts": [{"text": ')


def test_stream_without_alt_is_a_json_array(emu, token):
    emu.queue(Reply.text("one two three", chunks=3))
    response = generate(emu, token, stream=True, sse=False)
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.content.startswith(b"[{\n") and response.content.endswith(b"}\n]")
    assert response.content.count(b"\n,\r\n") == 2
    chunks = json.loads(response.content)
    texts = [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks]
    assert len(texts) == 3 and "".join(texts) == "one two three"
    assert "usageMetadata" in chunks[-1] and chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_errors_are_array_wrapped_only_when_streaming(emu, token):
    emu.queue(Reply.error(429), Reply.error(429))
    streamed = generate(emu, token, stream=True)
    unary = generate(emu, token)
    expected = json.loads(sample_body("12_vertex_error_429_stream_json_array_issue.json"))
    assert streamed.status_code == unary.status_code == 429
    assert streamed.text.startswith("[{") and streamed.json() == expected
    assert unary.json() == expected[0]


def test_recorded_sample_replays_byte_for_byte(emu, token):
    raw = sample_body("04_vertex_stream_sse_text_gemini-2.0-flash_firebase.sse")
    emu.queue(Reply.sample(raw))
    assert generate(emu, token, stream=True).content == raw


def test_function_calls_blocked_prompt_and_finish_reason(emu, token):
    emu.queue(Reply.function_calls([("sum", {"x": 1}), ("sum", {"x": 2})]),
              Reply.blocked("MODEL_ARMOR", "The prompt violated filters."),
              Reply.text("").finish("MALFORMED_FUNCTION_CALL", "Malformed function call: foo"))
    calls = generate(emu, token).json()["candidates"][0]
    assert [p["functionCall"] for p in calls["content"]["parts"]] == [
        {"name": "sum", "args": {"x": 1}}, {"name": "sum", "args": {"x": 2}}]
    assert calls["finishReason"] == "STOP"
    blocked = generate(emu, token).json()
    assert "candidates" not in blocked
    assert blocked["promptFeedback"] == {"blockReason": "MODEL_ARMOR",
                                         "blockReasonMessage": "The prompt violated filters."}
    malformed = generate(emu, token, stream=True)
    last = sse_events(malformed.content)[-1]["candidates"][0]
    assert (last["finishReason"], last["finishMessage"]) == ("MALFORMED_FUNCTION_CALL", "Malformed function call: foo")


def test_usage_override(emu, token):
    emu.queue(Reply.text("a b c").with_usage(cachedContentTokenCount=1, toolUsePromptTokenCount=10))
    usage = generate(emu, token).json()["usageMetadata"]
    assert usage["cachedContentTokenCount"] == 1 and usage["toolUsePromptTokenCount"] == 10
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + 3 + 10
    assert usage["cacheTokensDetails"] == [{"modality": "TEXT", "tokenCount": 1}]


# --- breaking streams, pacing, disconnects ---------------------------------------------------
def test_mid_stream_error_event(emu, token):
    emu.queue(Reply.text("abcdefgh", chunks=4).error_after(2))
    response = generate(emu, token, stream=True)
    assert response.status_code == 200
    events = sse_events(response.content)
    assert len(events) == 3
    assert events[-1] == {"error": {"code": 503, "message": "The service is currently unavailable.",
                                    "status": "UNAVAILABLE"}}


def test_dropped_connection_leaves_chunked_body_unterminated(emu, token):
    emu.queue(Reply.text("abcdefgh", chunks=4).drop_after(2))
    path = PROJECT_PATH.format(version="v1", model="gemini-2.5-flash", method="streamGenerateContent") + "?alt=sse"
    data = raw_post(emu, path, HELLO, token)
    assert data.startswith(b"HTTP/1.1 200") and data.count(b"data: ") == 2
    assert not data.endswith(b"0\r\n\r\n")
    entry = emu.wait_until(lambda: [e for e in emu.log if e["finished"]])[-1]
    assert entry["dropped"] is True and entry["chunks_sent"] == 2
    emu.queue(Reply.text("abcdefgh", chunks=4).drop_after(2))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        generate(emu, token, stream=True).content


def test_pacing_and_delay_are_real(emu, token):
    emu.queue(Reply.text("x" * 10, chunks=10).paced(30).delayed(150))
    started = time.monotonic()
    with generate(emu, token, stream=True, stream_response=True) as response:
        headers_at = time.monotonic() - started
        lines = (line for line in response.iter_lines() if line)
        first = next(lines)
        first_at = time.monotonic() - started
        rest = list(lines)
        done_at = time.monotonic() - started
    assert first.startswith(b"data: ") and len(rest) == 9
    assert headers_at >= 0.14
    assert done_at - first_at >= 0.25


def test_client_disconnect_is_logged(emu, token):
    emu.queue(Reply.text("y" * 50, chunks=50).paced(20))
    with generate(emu, token, stream=True, stream_response=True) as response:
        next(response.iter_content(chunk_size=None))
    entry = emu.wait_until(lambda: [e for e in emu.log if e["finished"]])[-1]
    assert entry["client_disconnected"] is True
    assert 1 <= entry["chunks_sent"] < 50
    assert not entry.get("completed")


# --- validation ----------------------------------------------------------------------------
def tool_body(parameters: dict, **declaration) -> dict:
    return {**HELLO, "tools": [{"functionDeclarations": [{"name": "lookup", "parameters": parameters,
                                                          **declaration}]}]}


def test_unknown_schema_field_rejected_with_path_and_field_violations(emu, token):
    parameters = {"type": "object", "properties": {"q": {"type": "string"},
                                                   "n": {"type": "integer", "exclusiveMinimum": 0}}}
    response = generate(emu, token, tool_body(parameters))
    line = ("Invalid JSON payload received. Unknown name \"exclusiveMinimum\" at "
            "'tools[0].function_declarations[0].parameters.properties[1].value': Cannot find field.")
    error = response.json()["error"]
    assert response.status_code == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == line
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
        {"field": "tools[0].function_declarations[0].parameters.properties[1].value", "description": line}]}]


def test_multiple_unknown_fields_one_line_each(emu, token):
    body = {**HELLO, "temprature": 1, "generationConfig": {"thinking": {}}}
    message = generate(emu, token, body).json()["error"]["message"]
    assert message.split("\n") == [
        'Invalid JSON payload received. Unknown name "temprature": Cannot find field.',
        "Invalid JSON payload received. Unknown name \"thinking\" at 'generation_config': Cannot find field."]


def test_snake_case_and_free_json_schemas_are_accepted(emu, token):
    body = {"contents": HELLO["contents"], "generation_config": {"max_output_tokens": 5},
            "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {
                "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "oneOf": [{}]}}]}],
            "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f"]}}}
    assert generate(emu, token, body).status_code == 200


def test_validate_schema():
    path = "tools[0].function_declarations[0].parameters"
    assert validate_schema({"type": "OBJECT", "properties": {"a": {"type": "STRING", "enum": ["x"]}}}, path) == []
    assert validate_schema({"type": "object", "properties": {"a": {"type": ["string", "null"]}}}, path) == [
        f"Invalid JSON payload received. Unknown name \"type\" at '{path}.properties[0].value': "
        "Proto field is not repeating, cannot start list."]
    assert validate_schema({"type": "object", "properties": {"tags": {"type": "array"}}}, path) == [
        f"* GenerateContentRequest.{path}.properties[tags].items: missing field."]
    assert validate_schema({"type": "integer", "enum": [1, 2]}, path) == [
        f"Invalid value at '{path}.enum[0]' (TYPE_STRING), 1", f"Invalid value at '{path}.enum[1]' (TYPE_STRING), 2"]
    assert validate_schema({"$ref": "#/defs/a"}, path) == [
        f"Invalid JSON payload received. Unknown name \"$ref\" at '{path}': Cannot find field."]


def _contents(*turns) -> dict:
    return {"contents": [{"role": role, "parts": parts} for role, parts in turns]}


CALL = {"functionCall": {"name": "f", "args": {}}}
RESPONSE = {"functionResponse": {"name": "f", "response": {"output": "1"}}}
USER = ("user", [{"text": "hi"}])


@pytest.mark.parametrize(("body", "version", "expected"), [
    ({"contents": []}, "v1", "Unable to submit request because at least one contents field is required."),
    (_contents(("user", [])), "v1", "Unable to submit request because it must include at least one parts field"),
    (_contents(("system", [{"text": "x"}])), "v1", "Please use a valid role: user, model."),
    (_contents(USER, ("model", [CALL, CALL]), ("user", [RESPONSE])), "v1",
     "Please ensure that the number of function response parts is equal to the number of function call parts"),
    (tool_body({"type": "string"}), "v1",
     "Unable to submit request because `lookup` functionDeclaration parameters schema should be of type OBJECT"),
    (tool_body({"type": "object"}, parametersJsonSchema={"type": "object"}), "v1", "parameters_json_schema"),
    ({**HELLO, "tools": [{"functionDeclarations": [{"name": f"f{i}"} for i in range(129)]}]}, "v1", "128"),
    (_contents(USER, ("model", [{"functionCall": {"name": "f", "args": {}, "id": "c1"}}]),
               ("user", [RESPONSE])), "v1", "Unknown name \"id\" at 'contents[1].parts[0].function_call'"),
    (_contents(("user", [{"text": "a", "inlineData": {"mimeType": "image/png", "data": "AA=="}}])), "v1",
     "oneof field 'data' is already set. Cannot set 'inlineData'"),
    ({"contents": [{"role": "user", "parts": [{"text": 5}]}]}, "v1",
     "Invalid value at 'contents[0].parts[0].text' (TYPE_STRING), 5"),
    ({**HELLO, "generationConfig": {"thinkingConfig": {"thinkingBudget": 10, "thinkingLevel": "LOW"}}}, "v1",
     "thinking_budget and thinking_level are not supported together"),
    ({**HELLO, "generationConfig": {"thinkingConfig": {"thinkingLevel": "EXTREME"}}}, "v1beta1",
     "Invalid value at 'generation_config.thinking_config.thinking_level' (type.googleapis.com/google.cloud."
     "aiplatform.v1beta1.GenerationConfig.ThinkingConfig.ThinkingLevel), \"EXTREME\""),
])
def test_request_rules(body, version, expected):
    errors = validate_request(body, api_version=version, model="gemini-2.5-flash")
    assert len(errors) == 1 and expected in errors[0], errors


@pytest.mark.parametrize("body", [
    _contents(("user", [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}])),
    _contents(USER, ("model", [{"functionCall": {"name": "f", "args": {}, "id": "c1"}}]),
              ("user", [{"functionResponse": {"name": "f", "id": "c1", "response": {"output": 1}}}])),
    {**tool_body({"type": "OBJECT", "properties": {"a": {"type": "ARRAY", "items": {"type": "STRING"}}}}),
     "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"},
                          "thinkingConfig": {"thinkingLevel": "LOW"}}},
])
def test_valid_requests_pass(body):
    assert validate_request(body, api_version="v1beta1", model="gemini-2.5-flash") == []


def test_thinking_config_rejected_on_models_without_thinking():
    body = {**HELLO, "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}
    assert validate_request(body, api_version="v1", model="gemini-2.5-pro") == []
    [error] = validate_request(body, api_version="v1", model="gemini-2.0-flash-001")
    assert error.startswith("Unable to submit request because thinking is not configurable in this model")


# --- thought signatures --------------------------------------------------------------------
def _history(call_part: dict) -> dict:
    return _contents(USER, ("model", [call_part]), ("user", [RESPONSE]))


def test_gemini3_thought_signatures_are_issued_and_enforced(emu, token):
    emu.queue(Reply.function_calls([("f", {}), ("f", {"n": 2})]))
    parts = generate(emu, token, model="gemini-3-pro-preview").json()["candidates"][0]["content"]["parts"]
    signature = parts[0]["thoughtSignature"]
    assert "thoughtSignature" not in parts[1]
    missing = generate(emu, token, _history(CALL), model="gemini-3-pro-preview")
    assert missing.status_code == 400 and missing.json()["error"]["message"] == (
        "Unable to submit request because function call `f` in the 2. content block is missing a "
        "`thought_signature`. Learn more: https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures")
    url_safe = base64.urlsafe_b64encode(base64.b64decode(signature)).decode().rstrip("=")
    for sent in (signature, url_safe, BYPASS):
        assert generate(emu, token, _history({**CALL, "thoughtSignature": sent}),
                        model="gemini-3-pro-preview").status_code == 200
    forged = base64.b64encode(b"forged signature bytes").decode()
    wrong = generate(emu, token, _history({**CALL, "thoughtSignature": forged}), model="gemini-3-pro-preview")
    assert wrong.status_code == 400 and wrong.json()["error"]["message"] == "Thought signature is not valid."
    assert generate(emu, token, _history(CALL), model="gemini-2.5-pro").status_code == 200


def test_streamed_gemini3_function_call_carries_signature(emu, token):
    emu.queue(Reply.function_call("lookup", {"q": "x"}))
    events = sse_events(generate(emu, token, model="gemini-3-flash-preview", stream=True).content)
    [part] = events[-1]["candidates"][0]["content"]["parts"]
    assert part["functionCall"]["name"] == "lookup" and part["thoughtSignature"]


# --- scripting over HTTP, fast mode, faults, routing, CLI ------------------------------------
def test_http_control_endpoints(emu, token):
    spec = [{"kind": "function_calls", "calls": [{"name": "f", "args": {"a": 1}}], "model": "gemini-2.0-*"},
            {"kind": "text", "text": "scripted", "chunks": 2, "usage": {"toolUsePromptTokenCount": 3}}]
    queued = requests.post(emu.url + "/_emulator/queue", json=spec).json()
    assert queued == {"queued": 2, "pending": 2}
    assert generate(emu, token).json()["candidates"][0]["content"]["parts"][0]["text"] == "scripted"
    assert "functionCall" in generate(emu, token, model="gemini-2.0-flash").json()["candidates"][0]["content"]["parts"][0]
    log = requests.get(emu.url + "/_emulator/log").json()
    assert [e["reply"] for e in log] == ["text", "function_calls"]
    assert requests.get(emu.url + "/_emulator/log", params={"since": log[0]["id"]}).json() == log[1:]
    assert requests.post(emu.url + "/_emulator/queue", json={"kind": "nope"}).status_code == 400
    config = requests.post(emu.url + "/_emulator/config", json={"max_token_age": 0}).json()
    assert config["max_token_age"] == 0 and config["declared_expires_in"] == 3599
    time.sleep(0.01)
    assert generate(emu, token).status_code == 401
    tokens = requests.get(emu.url + "/_emulator/tokens").json()
    assert tokens["issued"][-1]["expired"] is True and tokens["requests"]
    requests.post(emu.url + "/_emulator/reset")
    assert emu.log == [] and emu.config.max_token_age is None
    assert generate(emu, token).status_code == 200
    assert requests.post(emu.url + "/_emulator/revoke").json()["revoked"] >= 1
    assert generate(emu, token).status_code == 401


def test_fast_mode_skips_validation_and_logging(emu, token):
    emu.configure(fast=True, stream_chunks=5)
    assert generate(emu, token, {"not": "valid"}).status_code == 200
    events = sse_events(generate(emu, token, {"not": "valid"}, stream=True).content)
    assert len(events) == 5 and events[-1]["usageMetadata"]["candidatesTokenCount"] == 5
    assert generate(emu, "ya29.bogus").status_code == 401
    assert emu.log == []


def test_seeded_fault_injection(emu, token):
    emu.configure(faults={"p429": 1.0}, seed=1)
    assert generate(emu, token).status_code == 429
    emu.configure(faults={"mid_stream_error": 1.0})
    assert "error" in sse_events(generate(emu, token, stream=True).content)[-1]
    emu.configure(faults={"p503": 0.5, "reset": 0.0}, seed=7)
    statuses = [generate(emu, token).status_code for _ in range(20)]
    emu.configure(faults={"p503": 0.5, "reset": 0.0}, seed=7)
    assert [generate(emu, token).status_code for _ in range(20)] == statuses and {200, 503} == set(statuses)
    assert [e["fault"] for e in emu.log[:2]] == ["p429", "mid_stream_error"]


def test_unknown_paths_models_and_bad_json(emu, token):
    unknown = requests.post(emu.url + "/v1/projects/p/locations/l/publishers/google/models/m:countTokens")
    assert unknown.status_code == 404 and "text/html" in unknown.headers["Content-Type"]
    assert "That\u2019s an error." in unknown.text
    emu.configure(models=["gemini-2.5-*"])
    missing = generate(emu, token, model="gemini-9")
    assert missing.status_code == 404 and missing.json()["error"]["message"].startswith(
        "Publisher Model `projects/test-project/locations/us-central1/publishers/google/models/gemini-9` was not found")
    url = emu.url + PROJECT_PATH.format(version="v1", model="gemini-2.5-flash", method="generateContent")
    broken = requests.post(url, data=b"{nope", headers={"Authorization": f"Bearer {token}"})
    assert broken.status_code == 400 and broken.json()["error"]["message"].startswith("Invalid JSON payload received.")


def test_cli_prints_ready_line_and_serves(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "scripts")}
    key_file = tmp_path / "sa.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "vertex_emulator", "--port", "0", "--fast", "--stream-chunks", "2",
         "--write-service-account", str(key_file)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"vertex-emulator listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        assert requests.get(url + "/_emulator/health").json() == {"status": "ok", "queued": 0, "fast": True}
        assert json.loads(key_file.read_text())["token_uri"] == url + "/token"
    finally:
        process.terminate()
        returncode = process.wait(timeout=5)
        process.stdout.close()
    assert returncode == 0
