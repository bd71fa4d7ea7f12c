"""Vertex AI error replies -> OpenAI errors: (status, `{"error": {message, type, param, code}}`).

Vertex sends a `google.rpc.Status` as JSON, `{"error": {code, message, status, details}}`, for unary
calls; the same wrapped in a one-element array for `streamGenerateContent`; a `data: {"error": …}`
event once a stream has started; and Google's HTML 404 page for a wrong host or location. The mapping
is one table keyed by the gRPC status name. The HTTP status picks the row when the body names none,
and a few `ErrorInfo.reason` values (bad API key, disabled API) override the row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import openai_error


class ErrorRow(NamedTuple):
    status: int  # the HTTP status the client gets
    type: str
    code: str | None
    hint: str = ""


_AUTH_HINT = (
    "The proxy's Google credentials were rejected: run `gcloud auth application-default login`, "
    "or point GOOGLE_APPLICATION_CREDENTIALS at a valid service-account key "
    "(express mode: check the Vertex API key)."
)
_IAM_HINT = (
    "Grant the proxy's Google principal the `roles/aiplatform.user` IAM role on the project, "
    "and check that the Vertex AI API is enabled."
)
_RATE_HINT = "Vertex AI quota or rate limit reached; retry later or raise the quota."

# gRPC status name -> what the client sees.
ERROR_TABLE: dict[str, ErrorRow] = {
    "INVALID_ARGUMENT": ErrorRow(400, "invalid_request_error", None),
    "FAILED_PRECONDITION": ErrorRow(400, "invalid_request_error", None),
    "OUT_OF_RANGE": ErrorRow(400, "invalid_request_error", None),
    "UNIMPLEMENTED": ErrorRow(400, "invalid_request_error", "unsupported"),
    "UNAUTHENTICATED": ErrorRow(401, "authentication_error", "upstream_unauthenticated", _AUTH_HINT),
    "PERMISSION_DENIED": ErrorRow(403, "permission_error", "upstream_permission_denied", _IAM_HINT),
    "NOT_FOUND": ErrorRow(404, "invalid_request_error", "model_not_found"),
    "ALREADY_EXISTS": ErrorRow(409, "invalid_request_error", "conflict"),
    "ABORTED": ErrorRow(409, "server_error", "aborted"),
    "RESOURCE_EXHAUSTED": ErrorRow(429, "requests", "rate_limit_exceeded", _RATE_HINT),
    "CANCELLED": ErrorRow(500, "server_error", "upstream_cancelled"),
    "UNKNOWN": ErrorRow(500, "server_error", None),
    "INTERNAL": ErrorRow(500, "server_error", None),
    "DATA_LOSS": ErrorRow(500, "server_error", None),
    "UNAVAILABLE": ErrorRow(503, "server_error", "service_unavailable"),
    "DEADLINE_EXCEEDED": ErrorRow(504, "server_error", "timeout"),
}

# HTTP status -> gRPC status name, for bodies that carry no `status`.
STATUS_BY_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

# ErrorInfo.reason values that mean something else than their status says.
REASON_OVERRIDES: dict[str, str] = {
    "API_KEY_INVALID": "UNAUTHENTICATED",
    "API_KEY_SERVICE_BLOCKED": "PERMISSION_DENIED",
    "SERVICE_DISABLED": "PERMISSION_DENIED",
    "ACCESS_TOKEN_EXPIRED": "UNAUTHENTICATED",
}

_HTML = re.compile(rb"^\s*<(!doctype|html)", re.IGNORECASE)


def parse_error_body(body: bytes | str | None) -> dict[str, Any] | None:
    """The inner `error` object of a Vertex error body (object or array-wrapped), or None."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        inner = data.get("error", data)
        if isinstance(inner, dict) and ("message" in inner or "status" in inner or "code" in inner):
            return inner
    return None


def _details(error: Mapping[str, Any], kind: str) -> list[dict]:
    return [
        d for d in error.get("details") or ()
        if isinstance(d, dict) and str(d.get("@type", "")).endswith(kind)
    ]


def _row_name(http_status: int, error: Mapping[str, Any]) -> str:
    for info in _details(error, "ErrorInfo"):
        if info.get("reason") in REASON_OVERRIDES:
            return REASON_OVERRIDES[info["reason"]]
    name = error.get("status")
    if name in ERROR_TABLE:
        return name
    code = error.get("code") if isinstance(error.get("code"), int) else http_status
    return STATUS_BY_HTTP.get(code, "INTERNAL" if code >= 500 else "INVALID_ARGUMENT")


def _field_paths(error: Mapping[str, Any], message: str) -> str:
    """BadRequest field violations that the message does not already spell out."""
    extra = []
    for detail in _details(error, "BadRequest"):
        for violation in detail.get("fieldViolations") or ():
            field = violation.get("field", "")
            text = violation.get("description", "")
            if text and text in message:
                continue
            extra.append(f"{field}: {text}" if field else text)
    return "\n".join(extra)


def _not_found_message(message: str, model: str | None, location: str | None) -> tuple[str, str]:
    """A 404 names the model and location unless it is about something else (a context cache)."""
    if "cache" in message.lower():
        return message, "not_found"
    if model:
        where = f" in location `{location}`" if location else ""
        message = (
            f"Model `{model}` was not found{where}, or the project has no access to it. "
            f"Vertex AI said: {message}"
        )
    return message, "model_not_found"


def map_error(
    http_status: int,
    error: Mapping[str, Any],
    *,
    model: str | None = None,
    location: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """A parsed Vertex `error` object -> (OpenAI status, OpenAI error body)."""
    name = _row_name(http_status, error)
    row = ERROR_TABLE[name]
    message = str(error.get("message") or name.replace("_", " ").capitalize())
    code = row.code
    if name == "NOT_FOUND":
        message, code = _not_found_message(message, model, location)
    fields = _field_paths(error, message)
    if fields:
        message = f"{message}\n{fields}"
    if row.hint:
        message = f"{message} ({row.hint})"
    return row.status, openai_error(message, row.type, code)


def _non_json_error(status: int, body: bytes, location: str | None) -> tuple[int, dict[str, Any]]:
    if status == 404 and _HTML.match(body):
        where = f" (location `{location}`)" if location else ""
        message = (
            f"Vertex AI returned Google's HTML 404 page: the upstream host or location is wrong"
            f"{where}. "
            "Regional locations use `{location}-aiplatform.googleapis.com`; `global` uses "
            "`aiplatform.googleapis.com`."
        )
        return 502, openai_error(message, "server_error", "upstream_not_found")
    row = ERROR_TABLE[STATUS_BY_HTTP.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")]
    snippet = body[:300].decode("utf-8", "replace").strip()
    if _HTML.match(body):
        snippet = re.sub(r"<[^>]+>|\s+", " ", snippet).strip()[:200]
    message = f"Vertex AI returned HTTP {status} with " + (
        f"a non-JSON body: {snippet}" if snippet else "an empty body"
    )
    if row.hint:
        message = f"{message} ({row.hint})"
    return row.status, openai_error(message, row.type, row.code)


def vertex_error_to_openai(
    status: int,
    body: bytes,
    *,
    model: str | None = None,
    location: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """A Vertex non-2xx reply (status, raw body) -> (OpenAI status, OpenAI error body)."""
    error = parse_error_body(body)
    if error is None:
        return _non_json_error(status, body or b"", location)
    return map_error(status, error, model=model, location=location)


def stream_error_event(status: int, vertex_error: Mapping[str, Any]) -> bytes:
    """The OpenAI SSE error event for a Vertex error that arrived after the stream started."""
    error = vertex_error.get("error", vertex_error)
    if not isinstance(error, Mapping):
        error = {"message": str(error)}
    _, body = map_error(status, error)
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(str(value).strip().removesuffix("s")))
    except ValueError:
        return None


def retry_after_seconds(
    body: bytes | Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> float | None:
    """Seconds to wait, from a `Retry-After` header or a `google.rpc.RetryInfo` detail ("30s")."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            return _seconds(value)
    error = body if isinstance(body, Mapping) else parse_error_body(body)
    if error is not None:
        error = error.get("error", error)
        for info in _details(error, "RetryInfo"):
            return _seconds(info.get("retryDelay", ""))
    return None
