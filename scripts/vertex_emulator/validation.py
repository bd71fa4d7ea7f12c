"""Strict request validation with the texts the real Vertex AI returns.

First the JSON body is bound to the proto tables (``binding``); only a body that
binds cleanly gets the semantic checks below, as on the real service. Texts are
from vertex-wire.md §5 and public issue reports; the ones marked INFERRED are
our wording for rules whose real text was not captured.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .binding import Violation, bind, join
from .proto import snake_to_camel

LEARN_MORE = "Learn more: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini"
NO_CONTENTS = f"Unable to submit request because at least one contents field is required. {LEARN_MORE}"
NO_PARTS = ("Unable to submit request because it must include at least one parts field, "
            f"which describes the prompt input. {LEARN_MORE}")
BAD_ROLE = "Please use a valid role: user, model."
RESPONSE_COUNT = ("Please ensure that the number of function response parts is equal to the number of "
                  "function call parts of the function call turn.")
RESPONSE_ORDER = "Please ensure that function response turn comes immediately after a function call turn."
EMPTY_PART = "* GenerateContentRequest.{path}.data: required oneof field 'data' must have one initialized field"
NOT_OBJECT = "Unable to submit request because `{name}` functionDeclaration parameters schema should be of type OBJECT"
MISSING_ITEMS = "* GenerateContentRequest.{path}.items: missing field."
BAD_NAME = ("* GenerateContentRequest.{path}.name: Invalid function name. Must start with a letter or an underscore. "
            "Must be a-z, A-Z, 0-9, or contain underscores, dots and dashes, with a maximum length of 64.")  # INFERRED
BOTH_SCHEMAS = ("Unable to submit request because `{name}` functionDeclaration sets both `parameters` and "
                "`parameters_json_schema`; only one of them may be set.")  # INFERRED
BOTH_RESPONSE_SCHEMAS = ("Unable to submit request because generation_config sets both `response_schema` and "
                         "`response_json_schema`; only one of them may be set.")  # INFERRED
SCHEMA_NEEDS_MIME = ("Unable to submit request because `{field}` needs `response_mime_type` "
                     "application/json or text/x.enum.")  # INFERRED
THINKING_NOT_CONFIGURABLE = ("Unable to submit request because thinking is not configurable in this model; please "
                             f"remove the thinking_config setting and try it again. {LEARN_MORE}")
BUDGET_AND_LEVEL = "thinking_budget and thinking_level are not supported together"
TOO_MANY_FUNCTIONS = ("Unable to submit request because it has {count} function declarations; "
                      "at most 128 are supported.")  # INFERRED

MAX_FUNCTION_DECLARATIONS = 128
FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]{0,63}$")
VALID_ROLES = {"user", "model"}
PART_DATA = ("text", "inline_data", "file_data", "function_call", "function_response",
             "executable_code", "code_execution_result")
SCHEMA_MIME_TYPES = {"application/json", "text/x.enum"}
NO_THINKING_MODELS = ("gemini-1.", "gemini-2.0-")  # models without thinking


def get(obj: Any, name: str, default: Any = None) -> Any:
    """A field by proto name, sent in lowerCamelCase or snake_case."""
    if not isinstance(obj, dict):
        return default
    value = obj.get(snake_to_camel(name), obj.get(name))
    return default if value is None else value


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def validate_request(body: dict, *, api_version: str, model: str) -> list[str]:
    """Error lines for a GenerateContentRequest body ([] when it would be accepted)."""
    return [v.description for v in find_violations(body, api_version=api_version, model=model)]


def validate_schema(schema: dict, path: str) -> list[str]:
    """Error lines for an OpenAPI ``Schema`` object found at ``path`` (snake_case request path)."""
    found = bind(schema, "Schema", path=path, api_version="v1")
    if not found:
        found = list(_schema_rules(schema, path))
    return [v.description for v in found]


def find_violations(body: dict, *, api_version: str, model: str) -> list[Violation]:
    found = bind(body, "GenerateContentRequest", api_version=api_version)
    if found:
        return found
    for rule in RULES:
        found.extend(rule(body, model))
    return found


def _contents_rules(body: dict, model: str) -> Iterator[Violation]:
    contents = as_list(get(body, "contents"))
    if not contents:
        yield Violation(NO_CONTENTS)
        return
    for i, content in enumerate(contents):
        role = get(content, "role")
        if role is not None and role not in VALID_ROLES:
            yield Violation(BAD_ROLE)
        parts = as_list(get(content, "parts"))
        if not parts:
            yield Violation(NO_PARTS)
        for j, part in enumerate(parts):
            if not any(get(part, name) is not None for name in PART_DATA):
                yield Violation(EMPTY_PART.format(path=f"contents[{i}].parts[{j}]"))


def _count(content: Any, name: str) -> int:
    return sum(1 for part in as_list(get(content, "parts")) if get(part, name) is not None)


def _function_turn_rules(body: dict, model: str) -> Iterator[Violation]:
    contents = as_list(get(body, "contents"))
    for i, content in enumerate(contents):
        responses = _count(content, "function_response")
        if not responses:
            continue
        calls = _count(contents[i - 1], "function_call") if i > 0 else 0
        if calls == 0:
            yield Violation(RESPONSE_ORDER)
        elif calls != responses:
            yield Violation(RESPONSE_COUNT)


def _tool_rules(body: dict, model: str) -> Iterator[Violation]:
    declarations = [(f"tools[{t}].function_declarations[{d}]", decl)
                    for t, tool in enumerate(as_list(get(body, "tools")))
                    for d, decl in enumerate(as_list(get(tool, "function_declarations")))]
    if len(declarations) > MAX_FUNCTION_DECLARATIONS:
        yield Violation(TOO_MANY_FUNCTIONS.format(count=len(declarations)))
    for path, decl in declarations:
        name = get(decl, "name", "")
        if not FUNCTION_NAME.match(name):
            yield Violation(BAD_NAME.format(path=path))
        parameters = get(decl, "parameters")
        if parameters is not None and get(decl, "parameters_json_schema") is not None:
            yield Violation(BOTH_SCHEMAS.format(name=name))
        elif parameters is not None:
            if str(get(parameters, "type", "")).upper() != "OBJECT":
                yield Violation(NOT_OBJECT.format(name=name))
            yield from _schema_rules(parameters, join(path, "parameters"))
        if get(decl, "response") is not None:
            yield from _schema_rules(get(decl, "response"), join(path, "response"))


def _generation_config_rules(body: dict, model: str) -> Iterator[Violation]:
    config = get(body, "generation_config", {})
    schema, json_schema = get(config, "response_schema"), get(config, "response_json_schema")
    if schema is not None and json_schema is not None:
        yield Violation(BOTH_RESPONSE_SCHEMAS)
    for field, value in (("response_schema", schema), ("response_json_schema", json_schema)):
        if value is not None and get(config, "response_mime_type") not in SCHEMA_MIME_TYPES:
            yield Violation(SCHEMA_NEEDS_MIME.format(field=field))
    if schema is not None:
        yield from _schema_rules(schema, "generation_config.response_schema")
    thinking = get(config, "thinking_config")
    if thinking is not None and model.startswith(NO_THINKING_MODELS) and "thinking" not in model:
        yield Violation(THINKING_NOT_CONFIGURABLE)
    if get(thinking, "thinking_budget") is not None and get(thinking, "thinking_level") is not None:
        yield Violation(BUDGET_AND_LEVEL)


def _schema_rules(schema: Any, path: str) -> Iterator[Violation]:
    """Semantic Schema checks; sub-schemas are addressed by property key, as Google's messages do."""
    if not isinstance(schema, dict):
        return
    if str(get(schema, "type", "")).upper() == "ARRAY" and get(schema, "items") is None:
        yield Violation(MISSING_ITEMS.format(path=path))
    children = [(join(path, "items"), get(schema, "items"))]
    children += [(f"{join(path, 'any_of')}[{i}]", sub) for i, sub in enumerate(as_list(get(schema, "any_of")))]
    for mapping in ("properties", "defs"):
        children += [(f"{join(path, mapping)}[{key}]", sub) for key, sub in get(schema, mapping, {}).items()]
    for child_path, child in children:
        yield from _schema_rules(child, child_path)


RULES = (_contents_rules, _function_turn_rules, _tool_rules, _generation_config_rules)
