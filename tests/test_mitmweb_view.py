"""mitmweb shows both sides of every exchange: the `vertex-bridge` contentview and the flow summary.

End to end under `vertex-bridge --web` and `mitmweb -s`, read through mitmweb's own REST API (what
its UI renders); plus unit tests of the view with mitmproxy's test flows.
"""

from __future__ import annotations

import io
import json
import re
import time
from urllib.parse import urlsplit

import openai
import pytest
import requests
from conftest import API_KEY, proxy_env
from mitmproxy import contentviews, http
from mitmproxy import io as flow_io
from mitmproxy.test import taddons, tflow
from proxy_process import ProxyProcess, free_port

from addon.exchange import Exchange, attach, exchange_of
from addon.flowview import (
    COLUMN,
    KEEP,
    FlowInspector,
    UpstreamReplyKeeper,
    _Kept,
    pretty_json,
    reconstruct,
    side_by_side,
    sse_events,
    summary,
)
from translators.context import ResponseContext, TranslationOptions
from translators.models import resolve_model
from translators.request import parse_request, to_vertex

WEB_TOKEN = "web-token-for-tests"
MODEL = "gemini-2.5-flash"


# -- end to end: the REST API behind mitmweb's UI ------------------------------------------------

class Web:
    def __init__(self, proc: ProxyProcess, port: int) -> None:
        self.proc, self.url = proc, f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {WEB_TOKEN}"}

    def get(self, path: str):
        resp = requests.get(self.url + path, headers=self.headers, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def chat_flows(self, count: int) -> list[dict]:
        deadline = time.monotonic() + 10
        while True:
            flows = [f for f in self.get("/flows") if "enerateContent" in f["request"]["path"]]
            if (len(flows) >= count and all(f.get("comment") for f in flows)) or time.monotonic() > deadline:
                return flows
            time.sleep(0.05)

    def content(self, flow_id: str, message: str, view: str = "Auto") -> dict:
        return self.get(f"/flows/{flow_id}/{message}/content/{view}.json")


@pytest.fixture(scope="module", params=["vertex-bridge --web", "mitmweb -s"])
def web(request, emulator, service_account):
    env = proxy_env(emulator, service_account)
    if request.param == "mitmweb -s":
        proc = ProxyProcess(env, runner="mitmweb", args=["--set", f"web_password={WEB_TOKEN}"])
    else:
        proc = ProxyProcess(env, args=["--web", "--web-port", str(free_port()), "--set", f"web_password={WEB_TOKEN}"])
    try:
        proc.wait_ready()
        port = int(re.search(r"Web server listening at http://127\.0\.0\.1:(\d+)/", proc.output()).group(1))
        yield Web(proc, port)
    finally:
        proc.stop()


def test_a_translated_flow_shows_both_requests_and_a_summary(web, emulator):
    client = openai.OpenAI(base_url=web.proc.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)
    client.chat.completions.create(model=MODEL, temperature=0.3, messages=[
        {"role": "system", "content": "You are terse."}, {"role": "user", "content": "capital of France?"}])
    [flow] = web.chat_flows(1)[-1:]
    assert re.fullmatch(rf"{MODEL} · \d+ → \d+ tokens · \d+ ms · vertex", flow["comment"]), flow["comment"]
    assert "comment" in web.get("/options")["web_columns"]["value"], "the Comment column is turned on"
    emulator_address = urlsplit(emulator.url)
    assert (flow["request"]["host"], flow["request"]["port"]) == (emulator_address.hostname, emulator_address.port), \
        "the flow list shows where the request went: Vertex (here, the emulator)"

    view = web.content(flow["id"], "request")
    assert view["view_name"] == "vertex-bridge"
    side_by_side_text = view["text"]
    first = view["text"].split("\n", 1)[0]
    assert first.startswith("# ── OpenAI request, as the client sent it"), first
    assert "│ # ── Vertex request" in first, "side by side"
    text = web.content(flow["id"], "request", "vertex-bridge-stacked")["text"]
    openai_part, vertex_part = text.split("# ── Vertex request, as sent upstream")
    assert "# POST /v1/chat/completions" in openai_part
    sent = json.loads(openai_part.split("\n", 3)[3].split("\n\n#")[0])
    assert sent["messages"][0] == {"role": "system", "content": "You are terse."}
    assert sent["temperature"] == 0.3
    translated = json.loads(vertex_part.split("\n", 3)[3].split("\n\n#")[0])
    assert translated["systemInstruction"]["parts"][0]["text"] == "You are terse."
    assert translated["contents"][0]["parts"][0]["text"] == "capital of France?"
    assert translated["generationConfig"]["temperature"] == 0.3
    assert vertex_part.split("\n")[1].endswith(f"/models/{MODEL}:generateContent")
    assert "user-agent: OpenAI/Python" in text
    assert "authorization: <redacted>" in text

    reply = web.content(flow["id"], "response")["text"]
    first = reply.split("\n", 1)[0]
    assert first.startswith("# ── OpenAI response, sent to the client (200, translated)")
    assert first.endswith("│ # ── Vertex response, as received") and '"usageMetadata"' in reply
    everything = json.dumps(web.get("/flows")) + text + reply
    assert API_KEY not in everything, "the client's key never reaches mitmweb"
    assert "ya29." not in everything and "Bearer ey" not in everything, "nor a Google token"

    # File → Save: the flows serialize, keep no key, and show the same view when loaded again.
    dump = requests.get(web.url + "/flows/dump", headers=web.headers, timeout=10)
    assert dump.status_code == 200, dump.text
    assert API_KEY.encode() not in dump.content
    saved = next(f for f in flow_io.FlowReader(io.BytesIO(dump.content)).stream() if f.id == flow["id"])
    with taddons.context(FlowInspector()):
        assert contentviews.prettify_message(saved.request, saved).text == side_by_side_text


def test_a_streamed_flow_keeps_a_reconstructed_reply(web, emulator):
    client = openai.OpenAI(base_url=web.proc.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)
    chunks = list(client.chat.completions.create(model="vertex/" + MODEL, stream=True,
                                                 messages=[{"role": "user", "content": "stream a haiku"}]))
    assert chunks[-1].choices[0].finish_reason == "stop"
    flow = web.chat_flows(1)[-1]
    headers = {k.lower(): v for k, v in flow["request"]["headers"]}
    assert headers["host"] == urlsplit(emulator.url).netloc, "a stream goes via the relay, under Vertex's Host"
    assert flow["comment"].startswith(f"vertex/{MODEL} → {MODEL} · stream · ")
    assert flow["response"]["contentLength"] > 0, "the streamed body is kept for the viewer"
    reply = web.content(flow["id"], "response")["text"]
    head, rest = reply.split("\n", 1)
    assert re.match(r"# ── OpenAI response, streamed to the client \(200\): \d+ chunks, reconstructed", head)
    message = json.loads(rest.split("\n\n#")[0])
    assert message["object"] == "chat.completion"
    assert message["choices"][0]["message"]["content"].endswith("stream a haiku")
    assert message["choices"][0]["finish_reason"] == "stop"
    assert "# ── The stream as sent to the client\ndata: {" in reply and "data: [DONE]" in reply
    assert "# ── Vertex stream, as received\ndata: {" in reply


# -- unit: the view and the summary --------------------------------------------------------------

def make_flow(body: dict, stream: bool = False) -> http.HTTPFlow:
    """A flow as the router leaves it: the Vertex request in the flow, the client's kept aside."""
    raw = json.dumps(body).encode()
    req = parse_request(raw)
    target = resolve_model(req.model, {})
    call = to_vertex(req, target, TranslationOptions(), None)
    exchange = Exchange(target=target, call=call, request=req,
                        reply=ResponseContext(requested_model=req.model, stream=call.stream))
    exchange.client_headers = http.Headers(authorization="Bearer sk-secret", user_agent="curl/8", x_api_key="sk-2")
    exchange.client_body = raw
    flow = tflow.tflow(resp=True)
    flow.request.method = "POST"
    flow.request.path = f"/v1/publishers/google/models/{target.vertex_model}:generateContent"
    flow.request.headers["host"] = "aiplatform.googleapis.com"
    flow.request.content = json.dumps(call.body).encode()
    flow.metadata["vertex_bridge.client_path"] = "/v1/chat/completions"
    attach(flow, exchange)
    inspector = FlowInspector()
    inspector.active = True
    inspector.request(flow)  # keeps the client's side in the flow's metadata
    return flow


def test_view_shows_client_and_vertex_request_without_secrets():
    flow = make_flow({"model": MODEL, "messages": [{"role": "user", "content": "hi " * 40}]})
    with taddons.context(FlowInspector()):  # loading the addon registers the views
        result = contentviews.prettify_message(flow.request, flow)
        stacked = contentviews.prettify_message(flow.request, flow, "vertex-bridge-stacked")
    assert result.view_name == "vertex-bridge" and result.syntax_highlight == "yaml"
    rows = result.text.split("\n# ── The client's request headers")[0].split("\n")
    assert all(len(row) <= 2 * COLUMN + 3 for row in rows), "long lines are wrapped into their column"
    assert rows[0].startswith("# ── OpenAI request") and "│ # ── Vertex request, as sent upstream to " \
        "aiplatform.googleapis.com" in rows[0]
    assert rows[1].endswith("│ # POST …/publishers/google/models/gemini-2.5-flash:generateContent")
    text = stacked.text
    assert stacked.view_name == "vertex-bridge-stacked"
    assert text.index("OpenAI request") < text.index("Vertex request") < text.index("request headers")
    for shown in (result.text, text):
        assert "sk-secret" not in shown and "sk-2" not in shown
        assert "# authorization: <redacted>" in shown and "# user-agent: curl/8" in shown


def test_side_by_side_columns():
    out = side_by_side("a\nbb", "x\ny\nz", width=10)
    assert out.split("\n") == ["a  │ x", "bb │ y", "   │ z"]
    wrapped = side_by_side('  "content": "' + "word " * 10 + '"', "right", width=20).split("\n")
    assert len(wrapped) > 1 and all(len(row.split(" │")[0]) <= 20 for row in wrapped)


def test_view_is_not_offered_for_other_flows():
    flow = tflow.tflow(resp=True)
    flow.request.headers["content-type"] = "application/json"
    flow.request.content = b'{"a": 1}'
    with taddons.context(FlowInspector()):
        assert contentviews.prettify_message(flow.request, flow).view_name == "JSON"


def test_huge_opaque_strings_are_abbreviated():
    image = "iVBORw0KGgo" + "A" * 50_000
    text = pretty_json(json.dumps({"url": f"data:image/png;base64,{image}", "prose": "word " * 400}))
    assert len(text) < 3000 and "50,033 characters" in text
    assert "word word" in text, "long text with spaces is left alone"


def test_reconstruct_merges_chunks_tool_calls_and_usage():
    sse = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in [
        {"id": "c1", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"reasoning_content": "think"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"content": "lo", "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": '{"city": "Paris"}'}}]}, "finish_reason": "tool_calls"}]},
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
    ]) + b": ping\n\ndata: [DONE]\n\n"
    message = reconstruct(sse_events(sse))
    assert message["id"] == "c1" and message["object"] == "chat.completion" and message["model"] == "m"
    [choice] = message["choices"]
    assert choice["message"]["content"] == "Hello" and choice["message"]["reasoning_content"] == "think"
    assert choice["message"]["tool_calls"] == [{"id": "call_1", "type": "function",
                                                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    assert choice["finish_reason"] == "tool_calls" and message["usage"]["completion_tokens"] == 4


def test_kept_stream_is_bounded_and_passes_data_through():
    kept = _Kept(lambda data: data.upper())
    assert kept(b"abc") == b"ABC"
    big = b"x" * (KEEP + 10)
    assert kept(big) == big.upper()
    assert len(kept.upstream) == len(kept.client) == KEEP and kept.cut
    assert _Kept(True)(b"as is") == b"as is"


def test_nothing_is_kept_without_a_viewer():
    flow = make_flow({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    del flow.metadata["vertex_bridge.view"]
    FlowInspector().request(flow)  # not running under a flow viewer
    assert "vertex_bridge.view" not in flow.metadata


def test_inspector_writes_the_summary_only_when_a_viewer_is_loaded():
    inspector = FlowInspector()
    flow = make_flow({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    exchange_of(flow).usage = {"prompt_tokens": 5, "completion_tokens": 7}
    with taddons.context(inspector):
        inspector.response(flow)
        assert not flow.comment
        inspector.active = True
        UpstreamReplyKeeper(inspector).response(flow)
        inspector.response(flow)
    assert flow.comment == summary(flow, exchange_of(flow))
    assert flow.comment.startswith(f"{MODEL} · 5 → 7 tokens · ") and flow.comment.endswith(" ms · vertex")
    assert flow.metadata["vertex_bridge.view"]["upstream_reply"] == flow.response.content


def test_replaying_a_chat_flow_resends_the_client_request(web, emulator):
    client = openai.OpenAI(base_url=web.proc.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "replay me"}])
    flow = web.chat_flows(1)[-1]
    sent_before = len(emulator.log)
    xsrf = "0123456789abcdef"  # mitmweb (tornado) wants the same XSRF token as cookie and header
    resp = requests.post(f"{web.url}/flows/{flow['id']}/replay", timeout=10, cookies={"_mitmproxy_xsrf": xsrf},
                         headers={**web.headers, "X-XSRFToken": xsrf})
    assert resp.status_code == 200, resp.text
    entry = emulator.wait_until(lambda: len(emulator.log) > sent_before and emulator.log[-1], timeout=10)
    assert entry["status"] == 200, "the replay went through the whole path, translation included"
    assert entry["body"]["contents"][0]["parts"][0]["text"] == "replay me"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        replayed = next(f for f in web.get("/flows") if f["id"] == flow["id"])
        if replayed.get("response") and replayed["response"]["timestamp_end"] != flow["response"]["timestamp_end"]:
            break
        time.sleep(0.05)
    assert replayed["response"]["status_code"] == 200
    reply = json.loads(web.content(flow["id"], "response", "Raw")["text"])
    assert "replay me" in reply["choices"][0]["message"]["content"]
