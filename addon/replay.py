"""mitmweb's Replay for chat flows: send the client's original OpenAI request through the whole path again.

A chat flow's own request is the translated one, pointed at the in-process relay under a one-time
registration, so replaying it as-is cannot work. When the flow viewer kept the client's request
(`flow.metadata["vertex_bridge.view"]`), a replay restores it and the flow is translated, sent and
translated back like a new request. Replays are started by whoever operates the mitmweb UI (which has
its own token), so they need no client key.
"""

from __future__ import annotations

from mitmproxy import http

from .flowview import VIEW

REPLAY = "vertex_bridge.replay"


class ClientReplay:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.is_replay != "request" or flow.response:
            return
        view = flow.metadata.get(VIEW)
        if not view or not view.get("client_body"):
            return
        request = flow.request
        request.method = "POST"
        request.path = view["client_path"]
        request.headers = http.Headers(content_type="application/json", user_agent="vertex-bridge/replay")
        request.content = view["client_body"]
        flow.metadata[REPLAY] = True
