"""The generateContent / streamGenerateContent handler.

Order of work for one request: route, authenticate, read and bind the JSON body,
check the model exists, validate, check thought signatures, pick the reply
(queued, else echo with optional random fault), render and send it. Fast mode
skips validation and logging and answers with a fixed small reply.
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from aiohttp import web

from . import errors
from .auth import AuthResult, authenticate
from .faults import FaultDice
from .render import render
from .replies import Reply
from .request_log import redact_headers, redact_query
from .signatures import check_history
from .state import EMULATOR, Emulator
from .transport import Progress, json_response, send_plan
from .validation import find_violations

ROUTE = re.compile(
    r"^/(?P<api_version>v1|v1beta1)/(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"publishers/google/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")


@dataclass(frozen=True)
class Call:
    """What the URL says about a generate request."""

    api_version: str
    project: str | None
    location: str | None
    model: str
    stream: bool
    sse: bool

    @classmethod
    def parse(cls, request: web.Request) -> Call | None:
        match = ROUTE.match(request.path)
        if match is None or request.method != "POST":
            return None
        stream = match["method"] == "streamGenerateContent"
        return cls(match["api_version"], match["project"], match["location"], match["model"], stream,
                   stream and request.query.get("alt") == "sse")

    @property
    def express(self) -> bool:
        return self.project is None

    @property
    def resource(self) -> str:
        model = f"publishers/google/models/{self.model}"
        return model if self.express else f"projects/{self.project}/locations/{self.location}/{model}"

    @property
    def rpc(self) -> str:
        return errors.rpc_method(self.api_version, self.stream)


async def handle_generate(request: web.Request) -> web.StreamResponse:
    emulator = request.app[EMULATOR]
    call = Call.parse(request)
    if call is None:
        return web.Response(status=404, text=errors.html_not_found(request.path), content_type="text/html",
                            charset="UTF-8")
    auth = authenticate(request, emulator, express=call.express, method=call.rpc)
    raw = await request.read()
    if emulator.config.fast:
        return await _answer_fast(request, call, emulator, auth)
    entry = emulator.log.start(
        time=time.time(), method=request.method, path=request.path, query=redact_query(request.query),
        api_version=call.api_version, model=call.model, project=call.project, location=call.location,
        express=call.express, stream=call.stream, alt=request.query.get("alt"),
        headers=redact_headers(request.headers), token_id=auth.token_id, body=None)
    progress = functools.partial(emulator.log.update, entry)
    try:
        return await _answer(request, call, emulator, auth, raw, progress)
    finally:
        progress(finished=True)


async def _answer(request: web.Request, call: Call, emulator: Emulator, auth: AuthResult, raw: bytes,
                  progress: Progress) -> web.StreamResponse:
    if auth.error:
        progress(status=auth.status)
        return json_response(auth.status, auth.error, stream=call.stream, headers=auth.headers)
    body, problem = _parse_body(raw, call, emulator)
    progress(body=body)
    if problem:
        progress(status=problem[0])
        return json_response(*problem, stream=call.stream)
    reply, fault = _choose_reply(emulator, call.model)
    progress(reply=reply.kind, fault=fault)
    plan = render(reply, model=call.model, body=body, stream=call.stream, sse=call.sse,
                  book=emulator.signatures, echo_chunks=emulator.config.stream_chunks)
    return await send_plan(request, plan, stream=call.stream, sse=call.sse, progress=progress,
                           **_timing(reply, emulator))


def _parse_body(raw: bytes, call: Call, emulator: Emulator) -> tuple[Any, tuple[int, dict] | None]:
    """The JSON body and, if Vertex would refuse it, (status, error body)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        text = raw.decode("utf-8", "replace")
        return text, (400, errors.error_body(400, "Invalid JSON payload received. Unexpected token."))
    models = emulator.config.models
    if models is not None and not any(fnmatchcase(call.model, pattern) for pattern in models):
        return body, (404, errors.model_not_found(call.resource))
    violations = find_violations(body, api_version=call.api_version, model=call.model)
    if violations:
        return body, (400, errors.bad_request(violations))
    message = check_history(body, call.model, emulator.signatures,
                            whole_history=emulator.config.signatures_whole_history)
    if message:
        return body, (400, errors.error_body(400, message))
    return body, None


def _choose_reply(emulator: Emulator, model: str) -> tuple[Reply, str | None]:
    reply = emulator.script.take(model)
    if reply is not None:
        return reply, None
    fault = emulator.faults.roll()
    return (FaultDice.apply(fault, Reply.echo()) if fault else Reply.echo()), fault


def _timing(reply: Reply, emulator: Emulator) -> dict[str, int]:
    config = emulator.config
    return {"delay_ms": config.delay_ms if reply.delay_ms is None else reply.delay_ms,
            "chunk_interval_ms": config.chunk_interval_ms if reply.chunk_interval_ms is None
            else reply.chunk_interval_ms}


def _ignore(**fields: Any) -> None:
    """Progress sink for fast mode, which keeps no log."""


async def _answer_fast(request: web.Request, call: Call, emulator: Emulator,
                       auth: AuthResult) -> web.StreamResponse:
    if auth.error:
        return json_response(auth.status, auth.error, stream=call.stream, headers=auth.headers)
    chunks = max(1, emulator.config.stream_chunks)
    reply = emulator.script.take(call.model) or Reply.text(" ".join(["ok"] * chunks), chunks=chunks)
    plan = render(reply, model=call.model, body={}, stream=call.stream, sse=call.sse, book=emulator.signatures)
    return await send_plan(request, plan, stream=call.stream, sse=call.sse, progress=_ignore,
                           **_timing(reply, emulator))
