"""JSON Schema for Vertex's `parametersJsonSchema` / `responseJsonSchema` (the default schema mode).

Vertex takes raw JSON Schema there and ignores keywords it does not support (vertex-wire.md §6.2), so
the schema travels almost as the client wrote it: only `$schema` and `strict` are removed, and a `$ref`
with sibling keywords is wrapped in `anyOf` (Vertex wants `$ref` alone in its object). The walk knows
where sub-schemas live, so a *property* named `strict` or a `default` value is never touched.
"""

from __future__ import annotations

from typing import Any

_JSON_SCHEMA_DROPPED = frozenset({"$schema", "strict"})


def clean_json_schema(schema: Any) -> Any:
    """Drop `$schema` and `strict` everywhere, and give every `$ref` an object of its own.
    Copy-on-write: unchanged sub-schemas are shared with the input, which is never modified."""
    if type(schema) is not dict:
        return schema
    out = None
    for key, value in schema.items():
        if key in _JSON_SCHEMA_DROPPED:
            out = dict(schema) if out is None else out
            del out[key]
            continue
        walk = _SUBSCHEMAS.get(key)
        if walk is not None:
            clean = walk(value)
            if clean is not value:
                out = dict(schema) if out is None else out
                out[key] = clean
    out = schema if out is None else out
    if "$ref" in out and len(out) > 1 and "anyOf" not in out and any(key[0] != "$" for key in out):
        out = {key: value for key, value in out.items() if key != "$ref"}
        out["anyOf"] = [{"$ref": schema["$ref"]}]
    return out


def _clean_map(value: Any) -> Any:
    """`properties`, `$defs`, …: names -> sub-schemas (the names are data, never keywords)."""
    if type(value) is not dict:
        return value
    out = None
    for name, sub in value.items():
        clean = clean_json_schema(sub)
        if clean is not sub:
            out = dict(value) if out is None else out
            out[name] = clean
    return value if out is None else out


def _clean_list(value: Any) -> Any:
    if type(value) is not list:
        return clean_json_schema(value)
    out = None
    for index, sub in enumerate(value):
        clean = clean_json_schema(sub)
        if clean is not sub:
            out = list(value) if out is None else out
            out[index] = clean
    return value if out is None else out


# Keyword -> how its value holds sub-schemas. Anything else (enum, const, default, …) is plain data.
_SUBSCHEMAS = {
    **dict.fromkeys(("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"), _clean_map),
    **dict.fromkeys(("anyOf", "oneOf", "allOf", "prefixItems", "items"), _clean_list),
    **dict.fromkeys(("additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
                     "unevaluatedProperties", "unevaluatedItems", "additionalItems"), clean_json_schema),
}


def is_empty_object_schema(schema: Any) -> bool:
    """True for `None`, `{}` and an object schema without properties: such parameters are omitted."""
    if not schema:
        return True
    return (isinstance(schema, dict) and schema.get("type") in ("object", None) and not schema.get("properties")
            and not any(key in schema for key in ("$ref", "anyOf", "oneOf", "allOf", "items", "enum")))
