"""The schema sanitizer: real client tool schemas reach Vertex in a form its strict Schema binder accepts,
losing as little meaning as possible; the JSON-Schema path only loses `$schema` and `strict`."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translators.schema import clean_json_schema, to_openapi_schema

validation = pytest.importorskip("vertex_emulator.validation")  # the emulator's strict Vertex Schema binder
validate_schema = validation.validate_schema

ALLOWED_KEYS = {"type", "format", "title", "description", "nullable", "default", "items", "minItems", "maxItems",
                "enum", "properties", "propertyOrdering", "required", "minProperties", "maxProperties", "minimum",
                "maximum", "minLength", "maxLength", "pattern", "example", "anyOf"}
TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"}
KNOWN_FORMATS = {"STRING": {"enum", "date-time"}, "INTEGER": {"int32", "int64", "enum"},
                 "NUMBER": {"float", "double", "enum"}}


def vertex_problems(schema, path="schema"):
    """What our own reading of vertex-wire.md §6.1 objects to (belt and braces next to the emulator)."""
    problems = []
    if not isinstance(schema, dict):
        return [f"{path}: not an object"]
    problems += [f"{path}.{key}: not in the allow-list" for key in set(schema) - ALLOWED_KEYS]
    kind = schema.get("type")
    if kind is not None and kind not in TYPES:
        problems.append(f"{path}.type: {kind!r}")
    if kind is None and "anyOf" not in schema:
        problems.append(f"{path}: neither type nor anyOf")
    if "enum" in schema and not all(isinstance(v, str) and v for v in schema["enum"]):
        problems.append(f"{path}.enum: not all non-empty strings")
    if kind == "ARRAY" and "items" not in schema:
        problems.append(f"{path}: array without items")
    if "format" in schema and schema["format"] not in KNOWN_FORMATS.get(kind, ()):
        problems.append(f"{path}.format: {schema['format']!r} on {kind}")
    if not set(schema.get("required", ())) <= set(schema.get("properties", {})):
        problems.append(f"{path}.required: names undeclared properties")
    for name, sub in schema.get("properties", {}).items():
        problems += vertex_problems(sub, f"{path}.properties[{name}]")
    for index, sub in enumerate(schema.get("anyOf", ())):
        problems += vertex_problems(sub, f"{path}.anyOf[{index}]")
    if "items" in schema:
        problems += vertex_problems(schema["items"], f"{path}.items")
    return problems


def assert_vertex_accepts(schema):
    assert validate_schema(schema, "tools[0].function_declarations[0].parameters") == []
    assert vertex_problems(schema) == []
    json.dumps(schema, allow_nan=False)


# --- real client schemas ---------------------------------------------------------------------------------

CLINE_ZOD4 = {  # z.toJSONSchema output (zod 4.6.7), clients.md §4 Cline
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "File path"},
        "start_line": {"anyOf": [{"type": "integer", "exclusiveMinimum": 0, "maximum": 9007199254740991},
                                 {"type": "null"}]},
        "mode": {"type": "string", "enum": ["read", "write"]},
        "recursive": {"default": False, "type": "boolean"},
    },
    "required": ["path", "start_line", "mode", "recursive"],
    "additionalProperties": False,
}


def test_pain5_schema_keywords_never_reach_vertex():
    """CLIProxyAPI#97 ($schema), Portkey#1473 (exclusiveMinimum), mem0#1820 (additionalProperties)."""
    out = to_openapi_schema(CLINE_ZOD4)
    assert_vertex_accepts(out)
    assert out == {
        "type": "OBJECT",
        "properties": {
            "path": {"type": "STRING", "description": "File path"},
            "start_line": {"type": "INTEGER", "minimum": 1, "maximum": 9007199254740991, "nullable": True},
            "mode": {"type": "STRING", "enum": ["read", "write"]},
            "recursive": {"type": "BOOLEAN", "default": False},
        },
        "required": ["path", "start_line", "mode", "recursive"],
    }


def test_pain5_roo_strict_tool_with_type_arrays():
    """zed#53919: `"type": ["string", "null"]` fails with "Proto field is not repeating"."""
    roo = {"type": "object", "strict": True, "additionalProperties": False,
           "properties": {"path": {"type": "string"}, "line": {"type": ["integer", "null"]},
                          "value": {"type": ["string", "number"], "description": "either"},
                          "files": {"type": ["array", "null"], "items": {"type": "string"}}},
           "required": ["path", "line", "value", "files"]}
    out = to_openapi_schema(roo)
    assert_vertex_accepts(out)
    props = out["properties"]
    assert props["line"] == {"type": "INTEGER", "nullable": True}
    assert props["value"] == {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}], "description": "either"}
    assert props["files"] == {"type": "ARRAY", "items": {"type": "STRING"}, "nullable": True}


def test_pain5_refs_and_defs_are_inlined_and_cycles_stop():
    """LibreChat#14160 ($ref); recursive MCP schemas (a tree of nodes)."""
    schema = {
        "type": "object",
        "$defs": {
            "Node": {"type": "object", "description": "A node",
                     "properties": {"name": {"type": "string"},
                                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}},
            "Color": {"enum": ["red", "green"]},
        },
        "definitions": {"Old": {"type": "integer"}},
        "properties": {"root": {"$ref": "#/$defs/Node"}, "color": {"$ref": "#/$defs/Color", "description": "c"},
                       "old": {"$ref": "#/definitions/Old"}, "remote": {"$ref": "https://example.com/s.json"}},
    }
    out = to_openapi_schema(schema)
    assert_vertex_accepts(out)
    root = out["properties"]["root"]
    assert root["properties"]["name"] == {"type": "STRING"}
    assert root["properties"]["children"]["items"] == {"type": "OBJECT", "description": "A node"}
    assert out["properties"]["color"] == {"type": "STRING", "enum": ["red", "green"], "description": "c"}
    assert out["properties"]["old"] == {"type": "INTEGER"}
    assert out["properties"]["remote"] == {"type": "OBJECT"}


def test_pain5_const_oneof_allof_and_property_names():
    """openswarm#24 (const, propertyNames), zed#44875 (const in anyOf)."""
    schema = {
        "type": "object",
        "properties": {
            "action": {"oneOf": [{"const": "create"}, {"const": "delete"}]},
            "target": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                                 {"properties": {"b": {"type": "number"}}, "required": ["b"]}]},
            "tags": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"},
                     "patternProperties": {".*": {"type": "string"}}},
        },
    }
    out = to_openapi_schema(schema)
    assert_vertex_accepts(out)
    assert out["properties"]["action"] == {"anyOf": [{"type": "STRING", "enum": ["create"]},
                                                     {"type": "STRING", "enum": ["delete"]}]}
    assert out["properties"]["target"] == {"type": "OBJECT", "required": ["a", "b"],
                                           "properties": {"a": {"type": "STRING"}, "b": {"type": "NUMBER"}}}
    assert out["properties"]["tags"] == {"type": "OBJECT"}


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"enum": ["a", "", "b", "a"]}, {"type": "STRING", "enum": ["a", "b"]}),
        ({"type": "integer", "enum": [1, 2, 3]}, {"type": "INTEGER", "format": "enum", "enum": ["1", "2", "3"]}),
        ({"enum": [0.5, 1]}, {"type": "NUMBER", "format": "enum", "enum": ["0.5", "1"]}),
        ({"type": "boolean", "enum": [True]}, {"type": "BOOLEAN"}),
        ({"enum": ["a", 1, True, None]}, {"type": "STRING", "enum": ["a", "1", "true"], "nullable": True}),
        ({"const": None}, {"type": "STRING", "nullable": True}),
        ({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
         {"type": "INTEGER", "minimum": 1, "maximum": 9}),
        ({"type": "integer", "minimum": 5, "exclusiveMinimum": 2}, {"type": "INTEGER", "minimum": 5}),
        ({"type": "number", "minimum": 0, "exclusiveMinimum": True}, {"type": "NUMBER", "minimum": 0}),
        ({"type": "integer", "maximum": 10, "exclusiveMaximum": True}, {"type": "INTEGER", "maximum": 9}),
        ({"type": "string", "format": "date-time"}, {"type": "STRING", "format": "date-time"}),
        ({"type": "string", "format": "email", "description": "Mail"},
         {"type": "STRING", "description": "Mail (format: email)"}),
        ({"type": "integer", "format": "int64"}, {"type": "INTEGER", "format": "int64"}),
        ({"type": "number", "format": "int64"}, {"type": "NUMBER", "description": "(format: int64)"}),
        ({"type": "array"}, {"type": "ARRAY", "items": {"type": "STRING"}}),
        ({"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
         {"type": "ARRAY", "items": {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}}),
        ({"type": "array", "prefixItems": [{"type": "boolean"}], "minItems": 1, "uniqueItems": True},
         {"type": "ARRAY", "items": {"type": "BOOLEAN"}, "minItems": 1}),
        ({}, {"type": "STRING"}),
        ({"properties": {"x": {"type": "string"}}, "required": ["x", "ghost"]},
         {"type": "OBJECT", "properties": {"x": {"type": "STRING"}}, "required": ["x"]}),
        ({"type": "string", "examples": ["e1", "e2"], "title": "T", "$comment": "c", "deprecated": True,
          "readOnly": True, "minLength": 1, "maxLength": 9, "pattern": "^a"},
         {"type": "STRING", "example": "e1", "title": "T", "minLength": 1, "maxLength": 9, "pattern": "^a"}),
        ({"type": "object", "additionalProperties": {"type": "string"}}, {"type": "OBJECT"}),
        ({"type": "NULL"}, {"type": "STRING", "nullable": True}),
        ({"anyOf": [{"type": "string"}, {"type": "null"}], "description": "opt"},
         {"type": "STRING", "description": "opt", "nullable": True}),
    ],
)
def test_keyword_conversions(prop, expected):
    out = to_openapi_schema({"type": "object", "properties": {"p": prop}})
    assert_vertex_accepts(out)
    assert out["properties"]["p"] == expected


def test_non_object_roots_are_wrapped_and_object_unions_merged():
    assert to_openapi_schema({"type": "string"}) == {
        "type": "OBJECT", "properties": {"value": {"type": "STRING"}}, "required": ["value"]}
    merged = to_openapi_schema({"anyOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "k"]},
        {"type": "object", "properties": {"b": {"type": "string"}, "k": {"type": "string"}}, "required": ["k"]}]})
    assert merged == {"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "STRING"},
                                                       "k": {"type": "STRING"}}}


@pytest.mark.parametrize("empty", [{}, {"type": "object"}, {"type": "object", "properties": {}, "required": []},
                                   {"type": "object", "additionalProperties": False}])
def test_pain6_empty_parameter_objects_become_none(empty):
    assert to_openapi_schema(empty) is None


def test_response_schemas_keep_their_root():
    assert to_openapi_schema({"type": "array", "items": {"type": "integer"}}, force_object=False) == {
        "type": "ARRAY", "items": {"type": "INTEGER"}}


def test_input_is_never_modified():
    schema = copy.deepcopy(CLINE_ZOD4)
    to_openapi_schema(schema)
    clean_json_schema(schema)
    assert schema == CLINE_ZOD4


# --- the JSON-Schema path ----------------------------------------------------------------------------------


def test_clean_json_schema_drops_only_schema_and_strict_keywords():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "strict": True, "type": "object",
        "properties": {"strict": {"type": "boolean", "strict": 1}, "$schema": {"type": "string"},
                       "list": {"type": "array", "items": {"$schema": "x", "type": "string"}},
                       "u": {"anyOf": [{"strict": True, "type": "null"}]}},
        "default": {"strict": True, "$schema": "data, not a keyword"},
        "$defs": {"D": {"strict": False, "const": {"$schema": "kept"}}},
    }
    assert clean_json_schema(schema) == {
        "type": "object",
        "properties": {"strict": {"type": "boolean"}, "$schema": {"type": "string"},
                       "list": {"type": "array", "items": {"type": "string"}}, "u": {"anyOf": [{"type": "null"}]}},
        "default": {"strict": True, "$schema": "data, not a keyword"},
        "$defs": {"D": {"const": {"$schema": "kept"}}},
    }


def test_clean_json_schema_gives_ref_an_object_of_its_own():
    schema = {"type": "object", "properties": {"n": {"$ref": "#/$defs/N", "description": "node"}},
              "$defs": {"N": {"type": "string"}}}
    assert clean_json_schema(schema)["properties"]["n"] == {"description": "node", "anyOf": [{"$ref": "#/$defs/N"}]}


def test_clean_json_schema_shares_untouched_subtrees():
    schema = {"$schema": "x", "type": "object", "properties": {"a": {"type": "object", "properties": {}}}}
    out = clean_json_schema(schema)
    assert out is not schema and out["properties"] is schema["properties"]
    assert clean_json_schema(out) is out


# --- property: any JSON Schema comes out Vertex-valid ---------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60),
                    st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=4))
TYPE_NAMES = st.sampled_from(["string", "number", "integer", "boolean", "array", "object", "null", "OBJECT", "any"])
NAMES = st.sampled_from(["a", "b", "strict", "type", "$schema", "items", "x y", "ünï"])
REFS = st.sampled_from(["#", "#/$defs/a", "#/$defs/b", "#/definitions/a", "#/properties/a", "#/nope",
                        "https://example.com/x.json", "#/$defs/a~1b"])

LEAF = st.fixed_dictionaries({}, optional={
    "type": st.one_of(TYPE_NAMES, st.lists(TYPE_NAMES, max_size=3)),
    "enum": st.lists(SCALARS, max_size=4),
    "const": SCALARS,
    "format": st.sampled_from(["date-time", "email", "int32", "int64", "float", "uri", "enum", "double"]),
    "minimum": st.one_of(st.integers(-5, 5), st.floats(-5, 5)),
    "maximum": st.integers(2**52, 2**53),
    "exclusiveMinimum": st.one_of(st.booleans(), st.integers(-3, 3), st.floats(-3, 3)),
    "exclusiveMaximum": st.one_of(st.booleans(), st.integers(-3, 3)),
    "minLength": st.integers(-1, 3), "pattern": st.text(max_size=3), "description": st.text(max_size=5),
    "title": st.text(max_size=3), "default": SCALARS, "examples": st.lists(SCALARS, max_size=2),
    "nullable": st.booleans(), "$comment": st.text(max_size=3), "deprecated": st.booleans(),
    "multipleOf": st.integers(1, 3), "strict": st.booleans(), "$schema": st.just("x"),
    "additionalProperties": st.booleans(), "minItems": st.integers(0, 2), "required": st.lists(NAMES, max_size=3),
    "$ref": REFS,
})


def extend(children):
    return st.fixed_dictionaries({}, optional={
        "type": st.one_of(TYPE_NAMES, st.lists(TYPE_NAMES, max_size=3)),
        "properties": st.dictionaries(NAMES, children, max_size=3),
        "required": st.lists(NAMES, max_size=3),
        "items": st.one_of(children, st.lists(children, max_size=2), st.booleans()),
        "prefixItems": st.lists(children, max_size=2),
        "anyOf": st.lists(children, max_size=3),
        "oneOf": st.lists(children, max_size=3),
        "allOf": st.lists(children, max_size=3),
        "not": children,
        "additionalProperties": st.one_of(st.booleans(), children),
        "$defs": st.dictionaries(st.sampled_from(["a", "b", "a/b"]), children, max_size=2),
        "definitions": st.dictionaries(st.just("a"), children, max_size=1),
        "$ref": REFS,
        "description": st.text(max_size=4),
        "enum": st.lists(SCALARS, max_size=3),
    })


JSON_SCHEMAS = st.recursive(LEAF, extend, max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_SCHEMAS, st.booleans())
def test_pain5_any_json_schema_sanitizes_to_a_schema_vertex_accepts(schema, force_object):
    original = copy.deepcopy(schema)
    out = to_openapi_schema(schema, force_object=force_object)
    assert schema == original
    if out is None:
        assert force_object
        return
    if force_object:
        assert out["type"] == "OBJECT" and out["properties"]
    assert_vertex_accepts(out)


@settings(max_examples=200, deadline=None)
@given(JSON_SCHEMAS)
def test_clean_json_schema_is_idempotent_and_keeps_everything_else(schema):
    original = copy.deepcopy(schema)
    out = clean_json_schema(schema)
    assert schema == original
    assert clean_json_schema(out) == out
    assert "$schema" not in out and "strict" not in out
