"""Google error bodies (google.rpc.Status as JSON) with Vertex's texts (vertex-wire.md §5)."""

from __future__ import annotations

from typing import Any

from .binding import Violation

STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: ("Resource exhausted. Please try again later. Please refer to "
          "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."),
    499: "The operation was cancelled.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "Deadline expired before operation could complete.",
}
INVALID_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                       "or other valid authentication credential. "
                       "See https://developers.google.com/identity/sign-in/web/devconsole-project.")
MISSING_CREDENTIALS = ("Request is missing required authentication credential. Expected OAuth 2 access token, login "
                       "cookie or other valid authentication credential. "
                       "See https://developers.google.com/identity/sign-in/web/devconsole-project.")
API_KEYS_UNSUPPORTED = ("API keys are not supported by this API. Expected OAuth2 access token or other "
                        "authentication credentials that assert a principal. See https://cloud.google.com/docs/authentication")
API_KEY_INVALID = "API key not valid. Please pass a valid API key."
MODEL_NOT_FOUND = ("Publisher Model `{resource}` was not found or your project does not have access to it. Please "
                   "ensure you are using a valid model version. For more information, see: "
                   "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions")
WWW_AUTHENTICATE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'


def error_body(code: int, message: str | None = None, status: str | None = None,
               details: list[dict] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": code,
        "message": message if message is not None else DEFAULT_MESSAGES.get(code, "Unknown error."),
        "status": status or STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


def error_info(reason: str, *, method: str, domain: str = "googleapis.com") -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain,
            "metadata": {"service": "aiplatform.googleapis.com", "method": method}}


def rpc_method(api_version: str, stream: bool) -> str:
    name = "StreamGenerateContent" if stream else "GenerateContent"
    return f"google.cloud.aiplatform.{api_version}.PredictionService.{name}"


def invalid_credentials(method: str) -> dict:
    return error_body(401, INVALID_CREDENTIALS, details=[error_info("ACCESS_TOKEN_EXPIRED", method=method)])


def missing_credentials(method: str) -> dict:
    return error_body(401, MISSING_CREDENTIALS, details=[error_info("CREDENTIALS_MISSING", method=method)])


def api_keys_unsupported(method: str) -> dict:
    return error_body(401, API_KEYS_UNSUPPORTED, details=[error_info("CREDENTIALS_MISSING", method=method)])


def api_key_invalid(method: str) -> dict:
    return error_body(400, API_KEY_INVALID, details=[error_info("API_KEY_INVALID", method=method)])


def model_not_found(resource: str) -> dict:
    return error_body(404, MODEL_NOT_FOUND.format(resource=resource))


def bad_request(violations: list[Violation]) -> dict:
    """One 400 for all violations; binding errors also go into BadRequest.fieldViolations."""
    located = [{"field": v.field, "description": v.description} for v in violations if v.field is not None]
    details = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": located}] if located else None
    return error_body(400, "\n".join(v.description for v in violations), details=details)


def html_not_found(path: str) -> str:
    """Google's front-end 404 page for a URL no service answers."""
    return ("<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
            "  <title>Error 404 (Not Found)!!1</title>\n"
            "  <p><b>404.</b> <ins>That\u2019s an error.</ins>\n"
            f"  <p>The requested URL <code>{_html_escape(path)}</code> was not found on this server.  "
            "<ins>That\u2019s all we know.</ins>\n")


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
