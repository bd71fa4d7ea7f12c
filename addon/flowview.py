"""mitmweb: both sides of every exchange.

Under `vertex-bridge --web`, `mitmweb -s` or the mitmproxy console, each chat flow keeps what the
router and the reply translator replaced, as plain values in `flow.metadata["vertex_bridge.view"]`
(so a saved flow file keeps it too), and shows it through the `vertex-bridge` contentview:

- Request tab: the client's original OpenAI request and, beside it, the Vertex request sent upstream
  (the flow's own body); below them the client's headers, credentials redacted.
- Response tab: the OpenAI reply sent to the client beside the Vertex reply it was translated from.
  A streamed reply is kept as the SSE sent to the client (at most `KEEP` bytes each way), shown
  reconstructed as one `chat.completion`, followed by the raw events.
- The `vertex-bridge-stacked` view (View menu) puts the two sides one after the other instead.
- The flow's comment is a one-line summary — model, tokens, latency, upstream — shown in mitmweb's
  Comment column, which this addon turns on unless `web_columns` was set.

With no flow viewer loaded (the lean runner, mitmdump) nothing extra is kept. Google tokens never
reach the flow (the relay adds them), and client keys are redacted here.
"""

from __future__ import annotations

import itertools
import json
import logging
import textwrap
from typing import Any

from mitmproxy import contentviews, ctx, hooks, http
from mitmproxy.contentviews import Contentview, Metadata

from .exchange import Exchange, exchange_of

log = logging.getLogger("vertex_bridge")
KEEP = 256 * 1024  # bytes of a streamed reply kept per direction
COLUMN = 68  # characters per column in the side-by-side view
SHORTEN = 1024  # longer strings without spaces (base64 images, signatures) are abbreviated
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie", "x-goog-api-key"})
VIEW = "vertex_bridge.view"  # what the contentview shows, as plain values
COMMENT_COLUMN = "comment"


# -- the contentview --------------------------------------------------------------------------------

def _shorten(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > SHORTEN and " " not in value[:SHORTEN]:
            return f"{value[:64]}…[{len(value):,} characters]"
        return value
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value


def pretty_json(data: bytes | str) -> str:
    """Indented JSON with huge opaque strings abbreviated; the text itself if it is not JSON."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(_shorten(value), indent=2, ensure_ascii=False)


def sse_events(data: bytes) -> list[Any]:
    """The `data:` payloads of an SSE body, parsed where they are JSON."""
    events: list[Any] = []
    for line in data.splitlines():
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            try:
                events.append(json.loads(payload))
            except ValueError:
                events.append(payload.decode("utf-8", "replace"))
    return events


def reconstruct(events: list[Any]) -> dict | None:
    """OpenAI `chat.completion.chunk` events merged back into one `chat.completion`."""
    head: dict | None = None
    choices: dict[int, dict] = {}
    usage = error = None
    for event in events:
        if not isinstance(event, dict):
            continue
        if "error" in event:
            error = event["error"]
            continue
        head = head or event
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            state = choices.setdefault(choice.get("index", 0),
                                       {"content": [], "reasoning": [], "calls": {}, "finish": None})
            delta = choice.get("delta") or {}
            if delta.get("content"):
                state["content"].append(delta["content"])
            if delta.get("reasoning_content"):
                state["reasoning"].append(delta["reasoning_content"])
            for call in delta.get("tool_calls") or []:
                slot = state["calls"].setdefault(call.get("index", 0), {"id": None, "type": "function",
                                                                        "function": {"name": "", "arguments": ""}})
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["function"]["name"] += function.get("name") or ""
                slot["function"]["arguments"] += function.get("arguments") or ""
            state["finish"] = choice.get("finish_reason") or state["finish"]
    if head is None and error is None:
        return None
    out: dict[str, Any] = {"id": head.get("id")} if head else {}
    out["object"] = "chat.completion"
    out.update({k: head[k] for k in ("created", "model") if head and k in head})
    out["choices"] = []
    for index, state in sorted(choices.items()):
        message: dict[str, Any] = {"role": "assistant", "content": "".join(state["content"]) or None}
        if state["reasoning"]:
            message["reasoning_content"] = "".join(state["reasoning"])
        if state["calls"]:
            message["tool_calls"] = [state["calls"][i] for i in sorted(state["calls"])]
        out["choices"].append({"index": index, "message": message, "finish_reason": state["finish"]})
    if usage:
        out["usage"] = usage
    if error:
        out["error"] = error
    return out


def _wrapped(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        if len(line) <= width:
            lines.append(line)
            continue
        indent = " " * min(len(line) - len(line.lstrip()) + 2, width // 2)
        lines += textwrap.wrap(line, width, subsequent_indent=indent, drop_whitespace=False) or [line[:width]]
    return lines


def side_by_side(left: str, right: str, width: int = COLUMN) -> str:
    """Two texts as columns (long lines wrapped), separated by a bar."""
    left_lines, right_lines = _wrapped(left, width), _wrapped(right, width)
    used = max(map(len, left_lines))
    return "\n".join(f"{a.ljust(used)} │ {b}".rstrip()
                     for a, b in itertools.zip_longest(left_lines, right_lines, fillvalue=""))


def _short_path(path: str) -> str:
    """`/v1/projects/p/locations/l/publishers/…` -> `…/publishers/…` (the full URL heads the tab)."""
    head, sep, tail = path.partition("/publishers/")
    return f"…{sep}{tail}" if sep and head else path


def client_headers(headers: http.Headers | None) -> list[list[str]]:
    """The client's headers with credentials redacted. Host is left out: reverse mode rewrote it."""
    return [[k, "<redacted>" if k.lower() in SECRET_HEADERS else v]
            for k, v in (headers.items() if headers else ()) if k.lower() != "host"]


def view_of(flow: Any) -> dict | None:
    view = flow.metadata.get(VIEW) if isinstance(flow, http.HTTPFlow) else None
    return view if isinstance(view, dict) else None


class VertexBridgeContentview(Contentview):
    """A chat flow's two sides in columns (picked automatically for chat flows).

    It reads only `flow.metadata["vertex_bridge.view"]` (plain values), so it also works on flows
    loaded from a file (`mitmweb -r session.flows -s addon/vertex_bridge.py`).
    """

    name = "vertex-bridge"
    syntax_highlight = "yaml"  # JSON highlights as YAML, and the `#` section titles as comments
    columns = True

    def render_priority(self, data: bytes, metadata: Metadata) -> float:
        if view_of(metadata.flow) is not None and metadata.http_message is not None:
            return 2  # above the JSON view (1)
        return -1

    def prettify(self, data: bytes, metadata: Metadata) -> str:
        flow = metadata.flow
        view = view_of(flow)
        if view is None:
            raise ValueError("not a vertex-bridge chat flow")
        assert isinstance(flow, http.HTTPFlow)
        if metadata.http_message is flow.request:
            return self._request(flow, view, data)
        return self._response(flow, view, data)

    def _pair(self, left: str, right: str) -> str:
        return side_by_side(left, right) if self.columns else f"{left}\n\n{right}"

    def _request(self, flow: http.HTTPFlow, view: dict, data: bytes) -> str:
        client = "\n".join([
            "# ── OpenAI request, as the client sent it",
            f"# POST {view.get('client_path', '/v1/chat/completions')}",
            "#",
            pretty_json(view.get("client_body", b"")),
        ])
        vertex = "\n".join([
            f"# ── Vertex request, as sent upstream to {flow.request.headers.get('host', 'Vertex')}",
            f"# {flow.request.method} {_short_path(flow.request.path)}",
            "# (the relay adds the Google credentials: never kept here)",
            pretty_json(data),
        ])
        return "\n".join([
            self._pair(client, vertex),
            "",
            "# ── The client's request headers (credentials redacted)",
            *(f"# {k}: {v}" for k, v in view.get("client_headers", [])),
        ])

    def _response(self, flow: http.HTTPFlow, view: dict, data: bytes) -> str:
        status = flow.response.status_code if flow.response else ""
        upstream_name = str(view.get("upstream", "vertex"))
        upstream = view.get("upstream_reply")
        if not view.get("stream") or not data.lstrip().startswith((b"data:", b":")):
            source = f"passed through from {upstream_name}" if view.get("passthrough") else "translated"
            client = f"# ── OpenAI response, sent to the client ({status}, {source})\n{pretty_json(data)}"
            if upstream is None or view.get("passthrough"):
                return client
            return self._pair(client, f"# ── {upstream_name.capitalize()} response, as received\n"
                                      f"{pretty_json(upstream)}")
        events = sse_events(data)
        chunks = sum(1 for e in events if isinstance(e, dict) and "choices" in e)
        kept = f", first {KEEP // 1024} KiB" if view.get("cut") else ""
        parts = [
            f"# ── OpenAI response, streamed to the client ({status}): {chunks} chunks{kept}, reconstructed",
            json.dumps(_shorten(reconstruct(events)), indent=2, ensure_ascii=False),
            "",
            "# ── The stream as sent to the client",
            data.decode("utf-8", "replace").strip(),
        ]
        if upstream:
            parts += ["", f"# ── {upstream_name.capitalize()} stream, as received",
                      upstream.decode("utf-8", "replace").strip()]
        return "\n".join(parts)


class VertexBridgeStackedContentview(VertexBridgeContentview):
    """The same, one side after the other (for narrow windows, or to copy a body)."""

    name = "vertex-bridge-stacked"
    columns = False

    def render_priority(self, data: bytes, metadata: Metadata) -> float:
        return -1  # chosen from the View menu only


# -- the addons -------------------------------------------------------------------------------------

class _Kept:
    """A streamed reply passing through: the upstream's bytes and the client's, each up to KEEP."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner  # the reply translator's callable, or True (passed through as is)
        self.upstream = bytearray()
        self.client = bytearray()
        self.cut = False

    def __call__(self, data: bytes) -> bytes:
        out = self.inner(data) if callable(self.inner) else data
        self._keep(self.upstream, data)
        self._keep(self.client, out)
        return out

    def _keep(self, buffer: bytearray, data: bytes) -> None:
        room = KEEP - len(buffer)
        if len(data) > room:
            self.cut = True
        if room > 0:
            buffer += data[:room]


class FlowInspector:
    """Keeps both sides of each chat flow for a flow viewer and writes its one-line summary.

    What it keeps goes into `flow.metadata["vertex_bridge.view"]` as plain values, so flows can be
    saved (File → Save, `save_stream_file`) and shown again after loading.
    """

    def __init__(self) -> None:
        self.active = False  # a flow viewer (mitmweb, console) is loaded: keep bodies, write summaries

    def load(self, loader) -> None:
        contentviews.add(VertexBridgeContentview)
        contentviews.add(VertexBridgeStackedContentview)

    def running(self) -> None:
        self.active = ctx.master.addons.get("view") is not None
        options = ctx.options
        if self.active and "web_columns" in options and not options.has_changed("web_columns"):
            columns = list(options.web_columns)
            if COMMENT_COLUMN not in columns:
                options.update(web_columns=[*columns, COMMENT_COLUMN])

    def request(self, flow: http.HTTPFlow) -> None:
        if not self.active or (exchange := exchange_of(flow)) is None:
            return
        flow.metadata[VIEW] = {
            "client_path": flow.metadata.get("vertex_bridge.client_path", "/v1/chat/completions"),
            "client_headers": client_headers(exchange.client_headers),
            "client_body": exchange.client_body,
            "stream": exchange.call.stream,
        }

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if self.active and flow.response is not None and flow.response.stream and view_of(flow) is not None:
            flow.response.stream = _Kept(flow.response.stream)

    def response(self, flow: http.HTTPFlow) -> None:
        self._finish(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finish(flow)

    def _finish(self, flow: http.HTTPFlow) -> None:
        exchange, view = exchange_of(flow), view_of(flow)
        if not self.active or exchange is None or view is None:
            return
        view.update(upstream=exchange.upstream, passthrough=exchange.passthrough)
        response = flow.response
        if response is not None and isinstance(response.stream, _Kept):
            kept = response.stream
            response.data.content = bytes(kept.client)  # mitmproxy keeps no streamed body of its own
            view.update(upstream_reply=bytes(kept.upstream), cut=kept.cut)
        flow.comment = summary(flow, exchange)
        ctx.master.addons.trigger(hooks.UpdateHook([flow]))  # viewers loaded before us saw the flow already


class UpstreamReplyKeeper:
    """Keeps a unary upstream reply before the reply translator replaces it (goes before it)."""

    def __init__(self, inspector: FlowInspector) -> None:
        self.inspector = inspector

    def response(self, flow: http.HTTPFlow) -> None:
        if not self.inspector.active or flow.response is None or flow.response.stream:
            return
        exchange, view = exchange_of(flow), view_of(flow)
        if exchange is not None and view is not None and not exchange.passthrough:
            view["upstream_reply"] = flow.response.get_content(strict=False)


def summary(flow: http.HTTPFlow, exchange: Exchange) -> str:
    """`gemini-2.5-flash · stream · 12 → 40 tokens · 523 ms · vertex` (what the Comment column shows)."""
    target = exchange.target
    model = target.requested_model
    if target.vertex_model != model:
        model += f" → {target.vertex_model}"
    parts = [model]
    if exchange.call.stream:
        parts.append("stream")
    usage = exchange.usage or {}
    if "prompt_tokens" in usage:
        parts.append(f"{usage['prompt_tokens']} → {usage.get('completion_tokens', 0)} tokens")
    response = flow.response
    if response is not None and response.timestamp_end:
        parts.append(f"{(response.timestamp_end - flow.request.timestamp_start) * 1000:.0f} ms")
    parts.append(exchange.upstream)
    if exchange.retries:
        parts.append(f"{exchange.retries} retr{'y' if exchange.retries == 1 else 'ies'}")
    if exchange.finish_reason and exchange.finish_reason != "stop":
        parts.append(exchange.finish_reason)
    if flow.error is not None:
        parts.append(f"error: {flow.error.msg}")
    return " · ".join(parts)
