"""The OpenAI paths the proxy answers, with or without the `/v1` prefix."""

from __future__ import annotations

CHAT = "chat/completions"
MODELS = "models"
HEALTH = "health"


def route(path: str) -> str:
    """`/v1/chat/completions?x=1` -> `chat/completions`; `/health` -> `health`."""
    path = path.split("?", 1)[0].strip("/")
    if path.startswith("v1/"):
        path = path[3:]
    elif path == "v1":
        path = ""
    return path
