"""OpenAI `tools` / `tool_choice` -> Vertex `tools` / `toolConfig`, and the function-name mapping.

Vertex function names must match `^[a-zA-Z_][a-zA-Z0-9_.-]{0,63}$`. Other names (MCP's `server/tool`,
names over 64 characters, a leading digit) are renamed deterministically — invalid characters become
`_`, and a short hash of the original keeps the result unique — and `ToolSet.tool_names` maps them back,
so the client only ever sees its own names. History calls are renamed with the same function.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .context import TranslationOptions
from .errors import InvalidRequestError
from .json_schema import clean_json_schema, is_empty_object_schema
from .openai_types import CustomToolDef, FunctionDef, Tool
from .schema import to_openapi_schema
from .vertex_types import FunctionDeclaration, ToolConfig
from .vertex_types import Tool as VertexTool

_VALID_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.-]{0,63}")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_.-]")

# OpenAI tool_choice strings -> Vertex function-calling modes; anything unknown means AUTO.
TOOL_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY", "validated": "VALIDATED"}
# `allowed_tools.mode` -> the Vertex mode that restricts calls to the listed names.
ALLOWED_TOOLS_MODES = {"auto": "VALIDATED", "required": "ANY"}
# Built-in tool types -> the Vertex tool that does the same job.
BUILTIN_TOOLS = {"web_search": "googleSearch", "web_search_preview": "googleSearch", "google_search": "googleSearch"}
CUSTOM_INPUT = "input"  # the single string parameter a custom (free-form / grammar) tool gets


@lru_cache(maxsize=4096)
def vertex_name(name: str) -> str:
    """The name Vertex sees for a client tool name (the name itself when Vertex accepts it)."""
    if _VALID_NAME.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    base = _INVALID_CHARS.sub("_", name)
    if not (base[0].isascii() and (base[0].isalpha() or base[0] == "_")):
        base = "_" + base
    return f"{base[:55]}_{digest}"


@dataclass
class ToolSet:
    tools: list[VertexTool] = field(default_factory=list)
    tool_config: ToolConfig | None = None
    tool_names: dict[str, str] = field(default_factory=dict)  # vertex name -> client name
    custom_tools: set[str] = field(default_factory=set)  # client names of custom tools


def translate_tools(
    tools: list[Tool] | None, tool_choice: Any, options: TranslationOptions, repairs: list[str]
) -> ToolSet:
    """Declarations, tool config and name maps (at most 128 tools: `ChatRequest` enforces it)."""
    result = ToolSet()
    declarations: list[FunctionDeclaration] = []
    builtins: dict[str, dict[str, Any]] = {}
    for tool in tools or ():
        definition = tool.function or tool.custom
        if definition is None:
            if tool.type in BUILTIN_TOOLS:
                builtins[BUILTIN_TOOLS[tool.type]] = {}
            else:
                repairs.append(f"ignored a tool of unsupported type {tool.type!r}")
            continue
        name = vertex_name(definition.name)
        if name in result.tool_names:
            repairs.append(f"dropped a second declaration of tool {definition.name!r}")
            continue
        result.tool_names[name] = definition.name
        if tool.custom is not None:
            result.custom_tools.add(definition.name)
        declarations.append(_declaration(name, definition, options))
    if declarations:
        result.tools.append({"functionDeclarations": declarations})
        result.tool_config = _tool_config(tool_choice, {client: v for v, client in result.tool_names.items()})
        if builtins:
            repairs.append("dropped built-in search tools: Gemini cannot combine them with function tools")
    else:
        result.tools.extend({kind: config} for kind, config in builtins.items())  # type: ignore[misc]
    return result


def _declaration(name: str, tool: FunctionDef | CustomToolDef, options: TranslationOptions) -> FunctionDeclaration:
    if isinstance(tool, CustomToolDef):
        description, parameters = _custom_tool_signature(tool)
    else:
        description, parameters = tool.description, tool.parameters
    declaration: FunctionDeclaration = {"name": name}
    if description:
        declaration["description"] = description
    if options.schema_mode == "openapi":
        converted = to_openapi_schema(parameters) if parameters else None
        if converted:
            declaration["parameters"] = converted
    elif not is_empty_object_schema(parameters):
        declaration["parametersJsonSchema"] = clean_json_schema(parameters)
    return declaration


def _custom_tool_signature(tool: CustomToolDef) -> tuple[str, dict[str, Any]]:
    """A custom tool as a function taking one string, with its grammar (if any) in the description."""
    fmt = tool.format or {}
    description = tool.description or ""
    if fmt.get("type") == "grammar" and fmt.get("definition"):
        syntax = fmt.get("syntax") or "the following"
        description += f"\n\nThe `{CUSTOM_INPUT}` argument must follow this {syntax} grammar:\n{fmt['definition']}"
    parameter = {"type": "string", "description": "The raw tool input (free-form text, not JSON)."}
    schema = {"type": "object", "properties": {CUSTOM_INPUT: parameter}, "required": [CUSTOM_INPUT]}
    return description.strip(), schema


def _tool_config(choice: Any, vertex_names: dict[str, str]) -> ToolConfig | None:
    """`tool_choice` -> `toolConfig`; None leaves Vertex's default (AUTO)."""
    if choice is None:
        return None
    if isinstance(choice, str):
        return _restricted(TOOL_CHOICE_MODES.get(choice.lower(), "AUTO"), [], vertex_names)
    if not isinstance(choice, dict):
        return None
    if choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        names = [_chosen_name(tool) for tool in allowed.get("tools") or ()]
        mode = ALLOWED_TOOLS_MODES.get(str(allowed.get("mode")), "VALIDATED")
        return _restricted(mode, [name for name in names if name], vertex_names)
    name = _chosen_name(choice)
    return _restricted("ANY", [name], vertex_names) if name else _restricted("AUTO", [], vertex_names)


def _chosen_name(choice: Any) -> str | None:
    """The tool name in `{"type": "function", "function": {"name": X}}` (or the custom / flat variants)."""
    if not isinstance(choice, dict):
        return None
    inner = choice.get(choice.get("type", "function"))
    return (inner.get("name") if isinstance(inner, dict) else None) or choice.get("name")


def _restricted(mode: str, names: list[str], vertex_names: dict[str, str]) -> ToolConfig:
    unknown = [name for name in names if name not in vertex_names]
    if unknown:
        message = f"tool_choice names {unknown[0]!r}, which is not among the tools"
        raise InvalidRequestError(message, param="tool_choice")
    config: dict[str, Any] = {"mode": mode}
    if names:
        config["allowedFunctionNames"] = [vertex_names[name] for name in names]
    return {"functionCallingConfig": config}  # type: ignore[typeddict-item]
