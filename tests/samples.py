"""Loader for the recorded Vertex bodies in `tests/fixtures/vertex/` (header lines stripped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "vertex"


def sample_path(prefix: str) -> Path:
    """The fixture whose name starts with `prefix` + "_" (e.g. "04", "07b")."""
    matches = sorted(FIXTURES.glob(f"{prefix}_*"))
    assert len(matches) == 1, f"expected one fixture for {prefix!r}, found {matches}"
    return matches[0]


def sample_bytes(prefix: str) -> bytes:
    data = sample_path(prefix).read_bytes()
    return data[data.index(b"#---\n") + 5 :]


def sample_json(prefix: str) -> Any:
    return json.loads(sample_bytes(prefix))


def sse_events(prefix: str) -> list[dict]:
    """The JSON payloads of a recorded SSE stream, in order."""
    body = sample_bytes(prefix).replace(b"\r\n", b"\n")
    return [json.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: ")]


def to_sse(events: list[dict], eol: bytes = b"\r\n") -> bytes:
    """Vertex-style SSE bytes for `events`."""
    return b"".join(b"data: " + json.dumps(e).encode() + eol + eol for e in events)
