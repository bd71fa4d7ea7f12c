"""Thought signatures: issued on replies, checked in request history for Gemini 3.

Gemini 3 rejects a request whose current turn (everything after the last plain
user message) holds a model functionCall turn without the signature it issued
on the first call of that turn; an unknown signature anywhere is rejected too.
Gemini 2.5 returns signatures but does not enforce them.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from typing import Any

from .validation import as_list, get

BYPASS = "skip_thought_signature_validator"
MISSING = ("Unable to submit request because function call `{name}` in the {position}. content block is missing "
           "a `thought_signature`. Learn more: https://docs.cloud.google.com/vertex-ai/generative-ai/docs/"
           "thought-signatures")
INVALID = "Thought signature is not valid."


def enforces_signatures(model: str) -> bool:
    return model.startswith("gemini-3")


def signs_function_calls(model: str) -> bool:
    return model.startswith(("gemini-3", "gemini-2.5"))


def decode(signature: str) -> bytes | None:
    """Bytes of a standard or URL-safe base64 signature (padding optional)."""
    text = signature.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


class SignatureBook:
    """The signatures this emulator has handed out (thread-safe)."""

    def __init__(self) -> None:
        self._issued: set[bytes] = set()
        self._lock = threading.Lock()

    def issue(self) -> str:
        raw = secrets.token_bytes(48)
        with self._lock:
            self._issued.add(raw)
        return base64.b64encode(raw).decode()

    def remember(self, signature: str) -> None:
        """Accept a signature the emulator sent without minting it (recorded sample bodies)."""
        raw = decode(signature)
        if raw is not None:
            with self._lock:
                self._issued.add(raw)

    def knows(self, signature: str) -> bool:
        if signature == BYPASS:
            return True
        raw = decode(signature)
        with self._lock:
            return raw is not None and raw in self._issued

    def clear(self) -> None:
        with self._lock:
            self._issued.clear()


def _parts(content: Any) -> list:
    return as_list(get(content, "parts"))


def _is_plain_user_turn(content: Any) -> bool:
    return get(content, "role", "user") == "user" and not any(
        get(part, "function_response") is not None for part in _parts(content))


def check_history(body: dict, model: str, book: SignatureBook, *, whole_history: bool = False) -> str | None:
    """The 400 message Gemini 3 would return for this history, or None."""
    if not enforces_signatures(model):
        return None
    contents = as_list(get(body, "contents"))
    for content in contents:
        for part in _parts(content):
            signature = get(part, "thought_signature")
            if signature and not book.knows(signature):
                return INVALID
    start = 0
    if not whole_history:
        plain_users = [i for i, content in enumerate(contents) if _is_plain_user_turn(content)]
        start = plain_users[-1] + 1 if plain_users else 0
    for position in range(start, len(contents)):
        content = contents[position]
        calls = [part for part in _parts(content) if get(part, "function_call") is not None]
        if get(content, "role") == "model" and calls and not get(calls[0], "thought_signature"):
            name = get(get(calls[0], "function_call"), "name", "")
            return MISSING.format(name=name, position=position + 1)
    return None
