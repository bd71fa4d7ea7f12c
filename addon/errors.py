"""Errors the proxy itself produces, and the OpenAI-shaped HTTP response each becomes."""

from __future__ import annotations

import json

from mitmproxy import http

from translators.errors import TranslatorError, openai_error


class ProxyError(TranslatorError):
    """Base class for errors raised by the proxy (not by a translator)."""


class AuthenticationError(ProxyError):
    status = 401
    code = "invalid_api_key"


class NotFoundError(ProxyError):
    status = 404
    code = "not_found"


class MethodNotAllowedError(ProxyError):
    status = 405
    code = "method_not_allowed"


class NotReplayableError(ProxyError):
    """mitmweb's Replay of a chat flow that kept no client request (captured without a viewer)."""

    status = 410
    type = "invalid_request_error"
    code = "flow_not_replayable"


class PayloadTooLargeError(ProxyError):
    status = 413
    code = "request_too_large"


class GoogleCredentialsError(ProxyError):
    """No usable Google credentials, or the token refresh failed."""

    status = 503
    type = "server_error"
    code = "google_credentials_unavailable"


class UpstreamUnreachableError(ProxyError):
    status = 502
    type = "server_error"
    code = "upstream_unreachable"


class UpstreamTimeoutError(ProxyError):
    status = 504
    type = "server_error"
    code = "upstream_timeout"


JSON_HEADERS = {"content-type": "application/json"}


def json_response(status: int, body: dict, headers: dict[str, str] | None = None) -> http.Response:
    return http.Response.make(
        status, json.dumps(body).encode(), {**JSON_HEADERS, **(headers or {})}
    )


def error_response(err: TranslatorError, headers: dict[str, str] | None = None) -> http.Response:
    return json_response(err.status, err.to_openai(), headers)


def plain_error_response(status: int, message: str, type: str, code: str | None) -> http.Response:
    return json_response(status, openai_error(message, type, code))


class InternalError(ProxyError):
    """A bug in the proxy. The client gets this, the traceback goes to the proxy's log only."""

    status = 500
    type = "server_error"
    code = "internal_error"


def guarded(hook):
    """Run a request hook so that an unexpected exception becomes an OpenAI 500 for this flow.

    Without this, mitmproxy would log the error and forward the untranslated request upstream.
    """
    import functools
    import inspect
    import logging

    log = logging.getLogger("vertex_bridge")

    def fail(flow: http.HTTPFlow) -> None:
        log.exception("vertex-bridge: internal error in %s", hook.__qualname__)
        flow.response = error_response(InternalError(
            "vertex-bridge hit an internal error; the details are in the proxy's log."))

    if inspect.iscoroutinefunction(hook):
        @functools.wraps(hook)
        async def run_async(self, flow: http.HTTPFlow) -> None:
            try:
                await hook(self, flow)
            except Exception:
                fail(flow)
        return run_async

    @functools.wraps(hook)
    def run(self, flow: http.HTTPFlow) -> None:
        try:
            hook(self, flow)
        except Exception:
            fail(flow)
    return run
