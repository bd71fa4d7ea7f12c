"""Vertex error replies -> OpenAI errors: recorded bodies, the status table, and what the openai SDK raises."""

from __future__ import annotations

import json

import openai
import pytest
from samples import sample_bytes

from translators.upstream_errors import (
    ERROR_TABLE,
    retry_after_seconds,
    stream_error_event,
    vertex_error_to_openai,
)

try:
    import httpx2 as httpx  # the openai SDK's HTTP client in this environment (openai 3.x)
except ImportError:  # openai 1.x
    import httpx


def sdk_error(status: int, body: dict) -> openai.APIStatusError:
    """The exception the openai SDK raises for our reply (no retries)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    client = openai.OpenAI(api_key="k", base_url="http://proxy.test/v1", max_retries=0,
                           http_client=httpx.Client(transport=transport))
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    return info.value


def error(status: int, body: bytes, **kw) -> tuple[int, dict]:
    out_status, out = vertex_error_to_openai(status, body, **kw)
    assert set(out) == {"error"} and set(out["error"]) == {"message", "type", "param", "code"}
    assert isinstance(out["error"]["message"], str) and out["error"]["message"]
    return out_status, out["error"]


def test_403_permission_denied_hints_at_the_iam_role_10():
    status, err = error(403, sample_bytes("10"))
    assert status == 403 and err["type"] == "permission_error"
    assert "aiplatform.endpoints.predict" in err["message"]
    assert "roles/aiplatform.user" in err["message"]
    assert isinstance(sdk_error(status, {"error": err}), openai.PermissionDeniedError)


def test_401_unauthenticated_hints_at_google_credentials_11():
    status, err = error(401, sample_bytes("11"))
    assert status == 401 and err["type"] == "authentication_error"
    assert err["code"] != "invalid_api_key"  # that code means the client's own key
    assert "gcloud auth application-default login" in err["message"]
    assert "API keys are not supported by this API" in err["message"]
    assert isinstance(sdk_error(status, {"error": err}), openai.AuthenticationError)


def test_429_array_wrapped_stream_error_12():
    status, err = error(429, sample_bytes("12"))
    assert (status, err["type"], err["code"]) == (429, "requests", "rate_limit_exceeded")
    assert err["message"].startswith("Resource exhausted. Please try again later.")
    raised = sdk_error(status, {"error": err})
    assert isinstance(raised, openai.RateLimitError) and raised.code == "rate_limit_exceeded"


def test_400_unknown_field_keeps_vertex_text_and_field_path_13():
    status, err = error(400, sample_bytes("13"))
    assert (status, err["type"]) == (400, "invalid_request_error")
    assert 'Unknown name "additionalProperties"' in err["message"]
    assert "tools[0].function_declarations[0].parameters" in err["message"]
    assert err["message"].count("Invalid JSON payload received") == 1  # the violation repeats the message
    assert isinstance(sdk_error(status, {"error": err}), openai.BadRequestError)


def test_400_field_violations_not_in_the_message_are_appended():
    body = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Request contains an invalid argument.",
                      "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                          {"field": "generation_config.temperature", "description": "must be <= 2"}]}]}}
    _, err = error(400, json.dumps(body).encode())
    assert err["message"] == "Request contains an invalid argument.\ngeneration_config.temperature: must be <= 2"


def test_404_context_cache_is_not_a_model_error_18():
    status, err = error(404, sample_bytes("18"), model="gemini-2.5-flash", location="us-central1")
    assert (status, err["code"]) == (404, "not_found")
    assert err["message"] == "Not found: cache content metadata 8754364356910645200."


def test_404_model_names_model_and_location():
    body = {"error": {"code": 404, "status": "NOT_FOUND", "message": (
        "Publisher Model `projects/p/locations/europe-west1/publishers/google/models/gemini-9` was not found "
        "or your project does not have access to it.")}}
    status, err = error(404, json.dumps(body).encode(), model="gemini-9", location="europe-west1")
    assert (status, err["type"], err["code"]) == (404, "invalid_request_error", "model_not_found")
    assert "`gemini-9`" in err["message"] and "`europe-west1`" in err["message"]
    assert "Publisher Model" in err["message"]
    assert isinstance(sdk_error(status, {"error": err}), openai.NotFoundError)


def test_google_html_404_page_becomes_a_json_error():
    page = b"<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title><p>The requested URL was not found."
    status, err = error(404, page, location="us-central3")
    assert status == 502 and err["code"] == "upstream_not_found"
    assert "host or location" in err["message"] and "us-central3" in err["message"]


@pytest.mark.parametrize(("status", "body", "expected_status", "words"), [
    (503, b"", 503, "empty body"),
    (500, b"upstream connect error or disconnect/reset before headers", 500, "upstream connect error"),
    (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", 503, "502 Bad Gateway"),
    (400, b"not json", 400, "not json"),
])
def test_empty_and_non_json_bodies(status, body, expected_status, words):
    out_status, err = error(status, body)
    assert out_status == expected_status and words in err["message"]


@pytest.mark.parametrize(("google_status", "http", "expected"), [
    ("INVALID_ARGUMENT", 400, (400, "invalid_request_error")),
    ("FAILED_PRECONDITION", 400, (400, "invalid_request_error")),
    ("UNAUTHENTICATED", 401, (401, "authentication_error")),
    ("PERMISSION_DENIED", 403, (403, "permission_error")),
    ("NOT_FOUND", 404, (404, "invalid_request_error")),
    ("RESOURCE_EXHAUSTED", 429, (429, "requests")),
    ("CANCELLED", 499, (500, "server_error")),
    ("INTERNAL", 500, (500, "server_error")),
    ("UNAVAILABLE", 503, (503, "server_error")),
    ("DEADLINE_EXCEEDED", 504, (504, "server_error")),
])
def test_status_table(google_status, http, expected):
    body = json.dumps({"error": {"code": http, "message": "m", "status": google_status}}).encode()
    status, err = error(http, body)
    assert (status, err["type"]) == expected
    assert ERROR_TABLE[google_status].status == status


@pytest.mark.parametrize(("http", "expected"), [(400, 400), (401, 401), (403, 403), (404, 404), (429, 429),
                                                (500, 500), (503, 503), (504, 504), (418, 400), (599, 500)])
def test_http_status_picks_the_row_when_the_body_names_none(http, expected):
    status, _ = error(http, json.dumps({"error": {"code": http, "message": "m"}}).encode())
    assert status == expected


def test_invalid_api_key_in_express_mode_is_an_auth_error():
    body = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                      "status": "INVALID_ARGUMENT", "details": [
                          {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}
    status, err = error(400, json.dumps(body).encode())
    assert status == 401 and err["type"] == "authentication_error"


def test_retry_after_from_retry_info_or_header():
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "m", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}]}}
    assert retry_after_seconds(json.dumps(body).encode()) == 31.0
    assert retry_after_seconds(body) == 31.0  # an already parsed body
    assert retry_after_seconds(b"", headers={"Retry-After": "7"}) == 7.0
    assert retry_after_seconds(sample_bytes("12")) is None
    assert retry_after_seconds(None) is None


def test_stream_error_event():
    event = stream_error_event(503, {"error": {"code": 503, "message": "Overloaded.", "status": "UNAVAILABLE"}})
    assert event.startswith(b"data: ") and event.endswith(b"\n\n") and event.count(b"\n") == 2
    assert json.loads(event[6:]) == {"error": {"message": "Overloaded.", "type": "server_error",
                                               "param": None, "code": "service_unavailable"}}
    inner = stream_error_event(429, {"code": 429, "message": "Slow down.", "status": "RESOURCE_EXHAUSTED"})
    assert json.loads(inner[6:])["error"]["code"] == "rate_limit_exceeded"
