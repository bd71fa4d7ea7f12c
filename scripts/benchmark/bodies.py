"""Request bodies of three sizes, each as the OpenAI body a client sends to the proxy and as the Vertex
body the same client would send to Vertex directly (translated once, here, by the project's translators).

- small (~200 B): one short question.
- medium (~10 KB): a short conversation with two tools.
- cursor (~250 KB, 18 tools): the shape of Cursor's agent request (clients.md §5, Body A): a long
  system prompt, `<user_info>`/`<project_layout>` context, a user turn with attached file contents,
  18 function tools, `tool_choice: auto`, `temperature: 0`, `user`, `stream: true`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MODEL = "gemini-2.5-flash"
SIZES = ("small", "medium", "cursor")

CURSOR_TOOLS = (
    "codebase_search", "run_terminal_cmd", "create_plan", "grep", "read_file", "glob_file_search",
    "edit_file", "search_replace", "write", "edit_notebook", "delete_file", "todo_write",
    "list_dir", "file_search", "web_search", "read_lints", "fetch_rules", "update_memory",
)


@dataclass(frozen=True)
class Body:
    name: str
    openai: bytes  # what a client POSTs to /v1/chat/completions
    vertex: bytes  # what the same client would POST to Vertex
    stream: bool

    @property
    def size(self) -> int:
        return len(self.openai)


def _tool(name: str, description_size: int) -> dict:
    text = f"`{name}`: " + ("Use this tool when it helps the user's coding task. " * 200)[:description_size]
    return {"type": "function", "function": {
        "name": name, "description": text,
        "parameters": {"type": "object", "properties": {
            "target": {"type": "string", "description": "Path or query the tool works on."},
            "explanation": {"type": "string", "description": "One sentence on why the tool is used."},
            "options": {"type": "array", "items": {"type": "string"}},
            "limit": {"type": "integer"},
        }, "required": ["target"]}}}


def _source_file(index: int, size: int) -> str:
    line = f"export function helper{index}(value: number): number {{ return value * {index} + 1; }}\n"
    return f"```src/module{index}.ts\n" + (line * (size // len(line) + 1))[:size] + "```\n"


def small() -> dict:
    return {"model": MODEL, "max_tokens": 64, "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Say hello to the benchmark in exactly five short words, please."}]}


def medium() -> dict:
    turns = []
    for i in range(6):
        turns.append({"role": "user", "content": f"Question {i}: " + "explain this code path again. " * 24})
        turns.append({"role": "assistant", "content": f"Answer {i}: " + "the function returns early. " * 24})
    turns.append({"role": "user", "content": "And now summarise all of it."})
    return {"model": MODEL, "temperature": 0.2, "max_tokens": 512,
            "messages": [{"role": "system", "content": "You are a helpful coding assistant."}, *turns],
            "tools": [_tool("read_file", 300), _tool("grep", 300)], "tool_choice": "auto"}


def cursor(target_size: int = 250_000) -> dict:
    system = ("You are an AI coding assistant, powered by gemini-2.5-flash. You operate in Cursor.\n\n"
              "You are pair programming with a USER to solve their coding task. <tool_calling>…</tool_calling>"
              + " Follow the user's instructions carefully." * 200)
    body = {
        "model": MODEL, "temperature": 0, "user": "github|user_bench",
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": "<user_info>\nOS Version: linux\nShell: /bin/bash\n"
                                        "Workspace Path: /work/project\n</user_info>\n\n<project_layout>\n"
                                        + "".join(f"  - src/module{i}.ts\n" for i in range(40))
                                        + "</project_layout>"},
            {"role": "user", "content": ""},  # filled below to reach the target size
        ],
        "tools": [_tool(name, 1500) for name in CURSOR_TOOLS],
        "tool_choice": "auto",
        "stream": True,
    }
    room = target_size - len(json.dumps(body)) - 200
    files, index = [], 0
    while room > 0:
        piece = _source_file(index, min(12_000, room))
        files.append(piece)
        room -= len(json.dumps(piece)) - 2
        index += 1
    body["messages"][2]["content"] = ("<additional_data>\n<attached_files>\n" + "".join(files)
                                      + "</attached_files>\n</additional_data>\n\n<user_query>\n"
                                      "Refactor these helpers into one module.\n</user_query>")
    return body


def to_vertex_bytes(openai_body: dict) -> bytes:
    """The Vertex request the proxy would send for this body (the project's own translation)."""
    from translators.context import TranslationOptions
    from translators.models import resolve_model
    from translators.request import parse_request, to_vertex

    req = parse_request(json.dumps(openai_body).encode())
    call = to_vertex(req, resolve_model(req.model, {}), TranslationOptions())
    return json.dumps(call.body, separators=(",", ":"), ensure_ascii=False).encode()


def build(name: str) -> Body:
    data = {"small": small, "medium": medium, "cursor": cursor}[name]()
    return Body(name, json.dumps(data).encode(), to_vertex_bytes(data), bool(data.get("stream")))


def streaming_body() -> Body:
    data = {**small(), "stream": True}
    return Body("stream", json.dumps(data).encode(), to_vertex_bytes(data), True)
