"""Incremental reader of Vertex stream bytes: any split in, parsed JSON payloads out.

It accepts SSE `data:` events with CRLF, LF or CR line ends; a bare JSON value outside any `data:`
line (Vertex can end a stream with a bare error object; python-genai parses those too); and the
JSON-array stream form (`[{…}\n,\n{…}]`, no `alt=sse`). A payload is handed out as soon as the line
that completes it arrives: a complete event never waits for its blank line or for more bytes.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core

_DECODER = json.JSONDecoder()
_SEPARATORS = " \t\r\n,[]"


class Unparsed(str):
    """A payload that is not JSON (an event that ended, or a body that stopped, mid-value)."""


class Comment(str):
    """An SSE comment line (`: ping`): a keep-alive the proxy passes on to its client."""


class SseReader:
    def __init__(self) -> None:
        self._tail: list[bytes] = []  # pieces of a line not yet ended
        self._skip_lf = False  # the last read ended in CR: a leading LF completes that line end
        self._data: list[bytes] = []  # `data:` lines of the current event that do not parse yet
        self._bare: list[bytes] = []  # lines of a bare JSON value being collected

    def feed(self, data: bytes) -> list[Any]:
        """The payloads completed by `data`, in order (parsed JSON values or `Unparsed`)."""
        if self._skip_lf and data[:1] == b"\n":
            data = data[1:]
        self._skip_lf = False
        if not data:
            return []
        if b"\n" not in data and b"\r" not in data:
            self._tail.append(data)
            return []
        if self._tail:
            self._tail.append(data)
            data = b"".join(self._tail)
            self._tail = []
        lines = data.splitlines()
        if data[-1:] not in b"\r\n":
            self._tail.append(lines.pop())
        self._skip_lf = data[-1:] == b"\r"
        out: list[Any] = []
        for line in lines:
            self._line(line, out)
        return out

    def close(self) -> list[Any]:
        """The body ended: a last line without its line end, then whatever never completed."""
        out: list[Any] = []
        if self._tail:
            line = b"".join(self._tail)
            self._tail = []
            self._line(line, out)
        leftover = b"\n".join(self._data or self._bare).strip()
        if leftover:
            out.append(Unparsed(leftover[:200].decode("utf-8", "replace")))
        self._data, self._bare = [], []
        return out

    def _line(self, line: bytes, out: list[Any]) -> None:
        if self._bare:
            self._bare.append(line)
            self._parse_bare(line, out)
        elif line.startswith(b"data:"):
            self._data_line(line[6:] if line[5:6] == b" " else line[5:], out)
        elif not line.strip():
            if self._data:  # the event ended and its data never parsed
                out.append(Unparsed(b"\n".join(self._data)[:200].decode("utf-8", "replace")))
                self._data = []
        elif line.startswith(b":"):
            out.append(Comment(line[1:].strip().decode("utf-8", "replace")))
        elif line.lstrip()[:1] in (b"{", b"[", b",", b"]") and not self._data:
            self._bare.append(line)
            self._parse_bare(line, out)
        # other SSE fields (`event:`, `id:`, `retry:`) carry nothing we use

    def _data_line(self, value: bytes, out: list[Any]) -> None:
        self._data.append(value)
        payload = value if len(self._data) == 1 else b"\n".join(self._data)
        try:
            parsed = pydantic_core.from_json(payload)  # about 3x json.loads
        except ValueError:
            return  # a multi-line `data:` value: wait for its next line or the blank line
        self._data = []
        out.append(parsed)

    def _parse_bare(self, line: bytes, out: list[Any]) -> None:
        if line.rstrip().rstrip(b",")[-1:] not in (b"}", b"]"):
            return  # no value can end on this line
        text = b"\n".join(self._bare).decode("utf-8", "replace")
        pos = _skip(text, 0)
        while pos < len(text):
            try:
                value, stop = _DECODER.raw_decode(text, pos)
            except ValueError:
                self._bare = [text[pos:].encode()]
                return
            out.append(value)
            pos = _skip(text, stop)
        self._bare = []


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SEPARATORS:
        pos += 1
    return pos
