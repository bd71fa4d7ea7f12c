"""A bounded in-memory store of Gemini thought signatures, keyed by the tool-call ids the proxy issued.

Gemini 3 rejects a history function call that lacks the signature it came with. OpenAI clients never
see signatures (ids stay clean `call_…` strings), so the proxy remembers them and re-attaches them when
the client sends the history back. Entries expire after `ttl` seconds and the oldest go first once
`max_entries` is reached, so memory stays bounded (signatures are typically 0.5–4 KB each).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from typing import Any

# The value Vertex documents for histories whose signatures are lost (restart, another instance).
BYPASS_SIGNATURE = "skip_thought_signature_validator"


def call_key(name: str, args: Any) -> str:
    """The fallback key: a hash of a call's name and canonical arguments."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h:" + hashlib.sha256(f"{name}\0{canonical}".encode()).hexdigest()[:32]


def text_key(text: str) -> str:
    """Key for a signature that came on a text part (Gemini 3 signs the last text part too)."""
    return "t:" + hashlib.sha256(text.encode()).hexdigest()[:32]


class SignatureStore:
    def __init__(self, max_entries: int = 50_000, ttl: float = 6 * 3600) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, key: str, signature: str) -> None:
        self._entries[key] = (time.monotonic() + self.ttl, signature)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, signature = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        return signature

    def remember_call(self, call_id: str, name: str, args: Any, signature: str) -> None:
        self.put(call_id, signature)
        self.put(call_key(name, args), signature)

    def lookup_call(self, call_id: str | None, name: str, args: Any) -> str | None:
        return (self.get(call_id) if call_id else None) or self.get(call_key(name, args))
