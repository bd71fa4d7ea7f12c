"""Errors raised while translating, and the OpenAI error body they become."""

from __future__ import annotations

from typing import Any


def openai_error(
    message: str,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """The body OpenAI returns for every error: `{"error": {message, type, param, code}}`."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class TranslatorError(Exception):
    """Base class: a request or reply that cannot be translated. Carries its OpenAI status and shape."""

    status: int = 400
    type: str = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def to_openai(self) -> dict[str, Any]:
        return openai_error(self.message, self.type, self.code, self.param)


class InvalidRequestError(TranslatorError):
    """The client's body is malformed or asks for something Vertex cannot do (400)."""

    code = "invalid_request_error"


class UpstreamReplyError(TranslatorError):
    """Vertex answered with something that is not a usable reply (502)."""

    status = 502
    type = "server_error"
    code = "bad_upstream_response"
