"""OpenTelemetry traces: one `chat` span per request with the GenAI attributes, an `upstream` child,
a `token refresh` grandchild; exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

The in-memory tests run the real addons in this process (the SDK's InMemorySpanExporter), against
the emulator over real sockets; the OTLP test runs the real `vertex-bridge` subprocess and a small
OTLP/HTTP collector.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

pytest.importorskip("opentelemetry.sdk")

from conftest import API_KEY, PROJECT, proxy_env
from inprocess_proxy import InProcessProxy
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from proxy_process import ROOT, ProxyProcess
from vertex_emulator import Reply

from addon.tracing import Tracing, configured

MODEL = "gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "trace me"}]


@pytest.fixture(scope="module")
def exporter():
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def traced(emulator, service_account, exporter):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    def use_provider(addons):
        next(a for a in addons if isinstance(a, Tracing)).provider = provider

    overrides = {"vertex_base_url": emulator.url, "credentials": str(service_account), "project": PROJECT,
                 "api_keys": [API_KEY]}
    with InProcessProxy(overrides, prepare=use_provider) as proxy:
        yield proxy


@pytest.fixture
def spans(traced, exporter):
    """The spans finished by the test: a function that waits until `predicate(spans)` holds."""
    exporter.clear()

    def wait(predicate, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            finished = exporter.get_finished_spans()
            if predicate(finished) or time.monotonic() > deadline:
                return finished
            time.sleep(0.02)
    return wait


@pytest.fixture
def traced_client(traced):
    return openai.OpenAI(base_url=traced.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)


def chat_spans(finished):
    return [s for s in finished if s.name.startswith("chat")]


def children(finished, parent):
    return [s for s in finished if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_one_span_per_request_with_genai_attributes(traced_client, spans):
    traced_client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=100, temperature=0.5)
    list(traced_client.chat.completions.create(model="vertex/" + MODEL, messages=MESSAGES, stream=True,
                                               stream_options={"include_usage": True}))
    finished = spans(lambda s: len(chat_spans(s)) == 2 and sum(x.name.startswith("upstream") for x in s) == 2)
    unary, stream = chat_spans(finished)
    for span, requested, is_stream in ((unary, MODEL, False), (stream, "vertex/" + MODEL, True)):
        a = span.attributes
        assert span.name == f"chat {requested}" and span.kind == SpanKind.SERVER
        assert a["gen_ai.system"] == "vertex_ai" and a["gen_ai.provider.name"] == "gcp.vertex_ai"
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.request.model"] == requested
        assert a["gen_ai.response.model"] == MODEL
        assert a["gen_ai.request.stream"] is is_stream
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
        assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)
        assert a["gen_ai.response.id"].startswith("chatcmpl-")
        assert a["http.response.status_code"] == 200
        assert a["vertex_bridge.upstream"] == "vertex" and a["vertex_bridge.retries"] == 0
        assert span.status.status_code != StatusCode.ERROR
        assert span.end_time > span.start_time
        [upstream] = children(finished, span)
        assert upstream.name == "upstream vertex" and upstream.kind == SpanKind.CLIENT
        assert upstream.context.trace_id == span.context.trace_id
        assert upstream.attributes["http.response.status_code"] == 200
    assert unary.attributes["gen_ai.request.max_tokens"] == 100
    assert unary.attributes["gen_ai.request.temperature"] == 0.5


def test_token_refresh_is_a_child_of_the_upstream_call(traced_client, spans, emulator):
    emulator.revoke_all()  # the next Vertex call gets a 401: refresh, then retry
    traced_client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finished = spans(lambda s: any(x.name == "token refresh" for x in s) and chat_spans(s))
    [request] = chat_spans(finished)
    [upstream] = children(finished, request)
    [refresh] = children(finished, upstream)
    assert refresh.name == "token refresh"
    assert refresh.status.status_code != StatusCode.ERROR
    assert "401: token refreshed, retried" in [e.name for e in upstream.events]


def test_failed_request_is_an_error_span_with_its_retries(traced_client, spans, emulator):
    emulator.queue(Reply.error(503), Reply.error(503), Reply.error(503))
    with pytest.raises(openai.InternalServerError):
        traced_client.chat.completions.create(model=MODEL, messages=MESSAGES)
    [request] = chat_spans(spans(lambda s: chat_spans(s)))
    assert request.attributes["http.response.status_code"] == 503
    assert request.attributes["error.type"] == "503"
    assert request.attributes["vertex_bridge.retries"] == 2
    assert request.status.status_code == StatusCode.ERROR


def test_rejected_request_still_gets_a_span(traced, spans):
    import requests

    resp = requests.post(traced.url + "/v1/chat/completions", json={"model": MODEL, "messages": MESSAGES},
                         headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert resp.status_code == 401
    [request] = chat_spans(spans(lambda s: chat_spans(s)))
    assert request.name == "chat" and request.attributes["http.response.status_code"] == 401


def test_client_traceparent_is_continued(traced_client, spans):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced_client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers={
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    [request] = chat_spans(spans(lambda s: chat_spans(s)))
    assert f"{request.context.trace_id:032x}" == trace_id
    assert f"{request.parent.span_id:016x}" == "00f067aa0ba902b7"


def test_configured_follows_the_standard_variables():
    assert not configured({})
    assert configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert configured({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert not configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})
    assert not configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"})


NO_OTEL_SCRIPT = """
import sys, openai
sys.path[:0] = {paths!r}
from inprocess_proxy import InProcessProxy
with InProcessProxy({overrides!r}) as proxy:
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="k", max_retries=0)
    assert "quiet" in client.chat.completions.create(model="gemini-2.5-flash",
        messages=[{{"role": "user", "content": "quiet"}}]).choices[0].message.content
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
print("otel modules:", loaded)
sys.exit(1 if loaded else 0)
"""


def test_tracing_off_imports_no_opentelemetry(emulator, service_account):
    """No endpoint set: a whole chat through the real addons loads no opentelemetry module."""
    overrides = {"vertex_base_url": emulator.url, "credentials": str(service_account), "project": PROJECT,
                 "api_keys": ["k"]}
    script = NO_OTEL_SCRIPT.format(paths=[str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")],
                                   overrides=overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["NO_GCE_CHECK"] = "true"
    done = subprocess.run([sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


class Collector:
    """An OTLP/HTTP receiver: keeps the ExportTraceServiceRequest bodies POSTed to /v1/traces."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        self.requests: list = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                outer.requests.append((self.path, self.headers.get("x-team"), message))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[dict, object]]:
        """(resource attributes, span) for every span received."""
        out = []
        for _, _, message in self.requests:
            for resource_spans in message.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    out.extend((resource, span) for span in scope_spans.spans)
        return out

    def close(self) -> None:
        self.server.shutdown()


def _attributes(span) -> dict:
    values = {}
    for a in span.attributes:
        kind = a.value.WhichOneof("value")
        values[a.key] = getattr(a.value, kind)
    return values


def test_exported_over_otlp_when_the_endpoint_is_set(emulator, service_account):
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    collector = Collector()
    env = proxy_env(emulator, service_account, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
                    OTEL_SERVICE_NAME="bridge-under-test", OTEL_EXPORTER_OTLP_HEADERS="x-team=llm",
                    OTEL_BSP_SCHEDULE_DELAY="50")
    proc = ProxyProcess(env).wait_ready()
    try:
        client = openai.OpenAI(base_url=proc.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        deadline = time.monotonic() + 10
        while not any(s.name == f"chat {MODEL}" for _, s in collector.spans()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.stop()
        collector.close()
    received = collector.spans()
    [(resource, request)] = [(r, s) for r, s in received if s.name == f"chat {MODEL}"]
    assert resource["service.name"] == "bridge-under-test"
    attributes = _attributes(request)
    assert attributes["gen_ai.system"] == "vertex_ai"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert any(s.name == "upstream vertex" and s.parent_span_id == request.span_id for _, s in received)
    assert any(s.name == "token refresh" for _, s in received), "the startup refresh is traced too"
    paths = {(path, team) for path, team, _ in collector.requests}
    assert paths == {("/v1/traces", "llm")}, paths
