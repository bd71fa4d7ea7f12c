"""mitmweb's Replay for chat flows: send the client's original OpenAI request through the whole path again.

A chat flow's own request is the translated one, without the Google token (added only on the way out;
a stream's is addressed to the in-process relay under a one-time registration), so replaying it as-is
cannot work. When the flow viewer kept the client's request (`flow.metadata["vertex_bridge.view"]`), a
replay restores it and the flow is translated, sent and translated back like a new request; without
it, the replay gets a 410 that says so. Replays are started by whoever operates the mitmweb UI (which
has its own token), so they need no client key.
"""

from __future__ import annotations

import re

from mitmproxy import http

from .errors import NotReplayableError, error_response
from .flowview import VIEW

REPLAY = "vertex_bridge.replay"
VERTEX_CALL = re.compile(r":(stream)?generateContent\b", re.IGNORECASE)


class ClientReplay:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.is_replay != "request" or flow.response:
            return
        view = flow.metadata.get(VIEW)
        if not view or not view.get("client_body"):
            if VERTEX_CALL.search(flow.request.path):  # a translated request: it would reach Vertex with no token
                flow.response = error_response(NotReplayableError(
                    "This flow kept no client request to replay (it was captured without a viewer); "
                    "resend the request from the client."))
            return
        request = flow.request
        request.method = "POST"
        request.path = view["client_path"]
        request.headers = http.Headers(content_type="application/json", user_agent="vertex-bridge/replay")
        request.content = view["client_body"]
        flow.metadata[REPLAY] = True
