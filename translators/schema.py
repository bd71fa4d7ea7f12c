"""JSON Schema -> what Vertex accepts, in two flavours.

`clean_json_schema` (from `json_schema`) prepares a schema for `parametersJsonSchema` /
`responseJsonSchema`, the default: Vertex reads raw JSON Schema there.

`to_openapi_schema` converts to the OpenAPI `Schema` subset of `parameters` / `responseSchema`
(vertex-wire.md §6.1, schema_mode "openapi"), losing as little as possible:

- `$ref` / `$defs` / `definitions` are inlined; a reference cycle becomes a permissive OBJECT.
- `allOf` is merged; `oneOf` becomes `anyOf`; a `null` branch, a `"null"` in a type array or a `null`
  enum value becomes `nullable: true`; type arrays become one type or an `anyOf` of types.
- `const` is a one-value enum. String enums stay (empty strings dropped); integer and number enums keep
  their type as `format: "enum"` with string values (vertex-wire §6.1), so the model still answers
  with numbers; boolean enums become plain BOOLEAN; mixed enums become JSON-encoded STRING enums.
- `exclusiveMinimum` / `exclusiveMaximum` become `minimum` / `maximum` (exact for integers: ±1).
- `format` is kept only where Vertex knows it: STRING `enum`/`date-time`, INTEGER `int32`/`int64`,
  NUMBER `float`/`double`; any other format is mentioned in the description instead.
- `additionalProperties` is dropped: older Vertex endpoints reject it, newer ones only use it as a hint.
- arrays without `items` get STRING items; untyped schemas become STRING (OBJECT/ARRAY when their
  keywords say so); `required` keeps only declared properties; every other keyword is dropped.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .json_schema import clean_json_schema, is_empty_object_schema

__all__ = ["clean_json_schema", "is_empty_object_schema", "to_openapi_schema"]

_TYPES = {"string": "STRING", "number": "NUMBER", "integer": "INTEGER", "boolean": "BOOLEAN",
          "array": "ARRAY", "object": "OBJECT"}
_KNOWN_FORMATS = {"STRING": {"enum", "date-time"}, "INTEGER": {"int32", "int64"}, "NUMBER": {"float", "double"}}
_SIZE_KEYS = {"STRING": ("minLength", "maxLength"), "ARRAY": ("minItems", "maxItems"),
              "OBJECT": ("minProperties", "maxProperties")}
# Keywords whose presence says what an untyped schema is, checked in this order.
_TYPE_HINTS = (("properties", "OBJECT"), ("required", "OBJECT"), ("additionalProperties", "OBJECT"),
               ("items", "ARRAY"), ("prefixItems", "ARRAY"), ("minimum", "NUMBER"), ("maximum", "NUMBER"))
_MAX_DEPTH = 48
_MAX_NODES = 5000
_ANNOTATIONS = ("title", "description", "default", "example", "examples")

# (bound, its exclusive keyword, which of two bounds is tighter, the nearest integer inside an exclusive bound)
_BOUNDS = (("minimum", "exclusiveMinimum", max, lambda x: math.floor(x) + 1),
           ("maximum", "exclusiveMaximum", min, lambda x: math.ceil(x) - 1))


def to_openapi_schema(schema: dict[str, Any], force_object: bool = True) -> dict[str, Any] | None:
    """Convert JSON Schema to Vertex `Schema`. With `force_object` (function parameters) the root is an
    OBJECT — unions of objects are merged, other roots wrapped as `{"value": …}` — and None is returned
    for a schema without properties."""
    if force_object and is_empty_object_schema(schema):
        return None
    out = _Converter(schema).convert(schema, 0)
    if not force_object:
        return out
    out = _as_object(out)
    return out if out.get("properties") else None


def _as_object(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "OBJECT":
        schema.pop("nullable", None)
        return schema
    branches = schema.get("anyOf", [])
    if branches and all(branch.get("type") == "OBJECT" for branch in branches):
        merged: dict[str, Any] = {"type": "OBJECT", "properties": {}}
        for branch in branches:
            for name, sub in branch.get("properties", {}).items():
                merged["properties"].setdefault(name, sub)
        required = set.intersection(*(set(branch.get("required", ())) for branch in branches))
        if required:
            merged["required"] = [name for name in merged["properties"] if name in required]
        if "description" in schema:
            merged["description"] = schema["description"]
        return merged
    return {"type": "OBJECT", "properties": {"value": schema}, "required": ["value"]}


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.expanding: set[str] = set()  # $refs on the current path, for cycle detection
        self.budget = _MAX_NODES  # shared (non-cyclic) references can still multiply; stop somewhere

    def convert(self, node: Any, depth: int) -> dict[str, Any]:
        if not isinstance(node, dict):  # `true`/`false` schemas and garbage
            return {"type": "STRING"}
        self.budget -= 1
        if depth > _MAX_DEPTH or self.budget < 0:
            return _permissive(node)
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._convert_ref(ref, node, depth)
        if isinstance(node.get("allOf"), list):
            return self.convert(self._merge_all_of(node), depth + 1)
        variants, nullable = _variants(node)
        if len(variants) > 1:
            out = {"anyOf": [self.convert(variant, depth + 1) for variant in variants]}
            out.update(_annotations(node))
        else:
            out = self._single(variants[0] if variants else {"type": "string"}, depth)
        if nullable or node.get("nullable") is True:
            out["nullable"] = True
        return out

    def _convert_ref(self, ref: str, node: dict[str, Any], depth: int) -> dict[str, Any]:
        target = self._resolve(ref)
        if ref in self.expanding or target is None:
            return _permissive(target or node)
        self.expanding.add(ref)
        try:
            return self.convert(_with_siblings(target, node), depth + 1)
        finally:
            self.expanding.discard(ref)

    def _resolve(self, ref: str) -> dict[str, Any] | None:
        if ref != "#" and not ref.startswith("#/"):
            return None  # remote references are never fetched
        node: Any = self.root
        for token in ref[2:].split("/") if ref != "#" else ():
            token = token.replace("~1", "/").replace("~0", "~")
            node = node.get(token) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else None

    def _merge_all_of(self, node: dict[str, Any]) -> dict[str, Any]:
        merged = {key: value for key, value in node.items() if key != "allOf"}
        for sub in node["allOf"]:
            ref = sub.get("$ref") if isinstance(sub, dict) else None
            if isinstance(ref, str):
                target = None if ref in self.expanding else self._resolve(ref)
                if target is None:
                    continue
                self.expanding.add(ref)
                try:
                    self._merge_sub(merged, _with_siblings(target, sub))
                finally:
                    self.expanding.discard(ref)
            elif isinstance(sub, dict):
                self._merge_sub(merged, sub)
        return merged

    def _merge_sub(self, merged: dict[str, Any], sub: dict[str, Any]) -> None:
        _merge_into(merged, self._merge_all_of(sub) if isinstance(sub.get("allOf"), list) else sub)

    def _single(self, node: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        kind = _TYPES.get(str(node.get("type", "")).lower()) or _infer_type(node)
        enum = node.get("enum") if isinstance(node.get("enum"), list) else None
        if "const" in node:
            enum = [node["const"]]
        if enum is not None:
            kind, enum_keys = _enum(kind, [value for value in enum if value is not None])
            out.update(enum_keys)
        out = {"type": kind, **out, **_annotations(node)}
        _FILLERS.get(kind, _no_keys)(self, node, out, depth)
        fmt = node.get("format")
        if isinstance(fmt, str) and "format" not in out:
            if fmt in _KNOWN_FORMATS.get(kind, ()):
                out["format"] = fmt
            else:
                out["description"] = (out.get("description", "") + f" (format: {fmt})").lstrip()
        return out

    def _fill_array(self, node: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        items = node.get("items")
        if isinstance(items, list) or isinstance(node.get("prefixItems"), list):
            tuple_items = items if isinstance(items, list) else node["prefixItems"]
            items = {"anyOf": tuple_items} if tuple_items else None
        out["items"] = self.convert(items, depth + 1) if isinstance(items, dict) and items else {"type": "STRING"}
        _copy_sizes(node, out, "ARRAY")

    def _fill_object(self, node: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        properties = node.get("properties")
        if isinstance(properties, dict) and properties:
            out["properties"] = {name: self.convert(sub, depth + 1) for name, sub in properties.items()}
            required = node.get("required")
            if isinstance(required, list):
                kept = [name for name in dict.fromkeys(required) if name in properties]
                if kept:
                    out["required"] = kept
            ordering = node.get("propertyOrdering")
            if isinstance(ordering, list) and set(ordering) <= set(properties):
                out["propertyOrdering"] = list(ordering)
        _copy_sizes(node, out, "OBJECT")

    def _fill_string(self, node: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        _copy_sizes(node, out, "STRING")
        if isinstance(node.get("pattern"), str) and "enum" not in out:
            out["pattern"] = node["pattern"]

    def _fill_number(self, node: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        integer = out["type"] == "INTEGER"
        for bound, exclusive, tighter, step_in in _BOUNDS:
            candidates = [node[bound]] if _is_number(node.get(bound)) else []
            value = node.get(exclusive)
            if value is True and candidates:  # draft-4 boolean form qualifies `minimum`/`maximum`
                value = candidates.pop()
            if _is_number(value):
                candidates.append(step_in(value) if integer else value)
            if candidates:
                out[bound] = tighter(candidates)


def _no_keys(converter: _Converter, node: dict[str, Any], out: dict[str, Any], depth: int) -> None:
    """BOOLEAN takes no type-specific keywords."""


_FILLERS = {"ARRAY": _Converter._fill_array, "OBJECT": _Converter._fill_object,
            "STRING": _Converter._fill_string, "NUMBER": _Converter._fill_number,
            "INTEGER": _Converter._fill_number}


def _variants(node: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The non-null alternatives a node allows (each merged with the node's other keywords), and
    whether null is allowed too. Several alternatives leave the annotations to the enclosing anyOf."""
    branches = [b for key in ("anyOf", "oneOf") if isinstance(node.get(key), list) for b in node[key]]
    types = node.get("type")
    if isinstance(types, list):
        branches = [{**branch, "type": kind} for branch in branches or [{}] for kind in types] or branches
    nullable = _is_null(node) or any(map(_is_null, branches)) or None in (node.get("enum") or ())
    live = [branch for branch in branches if not _is_null(branch)]
    dropped = ("anyOf", "oneOf", "type") if isinstance(types, list) else ("anyOf", "oneOf")
    if len(live) > 1:
        dropped += _ANNOTATIONS
    base = {key: value for key, value in node.items() if key not in dropped}
    if not branches:
        return ([] if _is_null(node) else [base]), nullable
    return [_merged(base, branch) for branch in live], nullable


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and (str(schema.get("type")).lower() == "null" or (
        "const" in schema and schema["const"] is None) or schema.get("enum") == [None])


def _with_siblings(target: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A referenced schema with the keywords written next to its `$ref` (those win)."""
    return {**target, **{key: value for key, value in node.items() if key != "$ref"}}


def _merged(base: dict[str, Any], branch: Any) -> dict[str, Any]:
    if not isinstance(branch, dict):
        return dict(base)
    merged = dict(base)
    _merge_into(merged, branch)
    return merged


def _merge_into(target: dict[str, Any], extra: dict[str, Any]) -> None:
    """allOf-style merge: properties united, `required` united, other keywords from `extra` win."""
    for key, value in extra.items():
        if key == "properties" and isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = {**target[key], **value}
        elif key == "required" and isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = list(dict.fromkeys(target[key] + value))
        elif key not in ("description", "title") or key not in target:
            target[key] = value


def _annotations(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("title", "description"):
        if isinstance(node.get(key), str) and node[key]:
            out[key] = node[key]
    if node.get("default") is not None:
        out["default"] = node["default"]
    examples = node.get("examples")
    if node.get("example") is not None:
        out["example"] = node["example"]
    elif isinstance(examples, list) and examples and examples[0] is not None:
        out["example"] = examples[0]
    return out


def _enum(kind: str, values: list[Any]) -> tuple[str, dict[str, Any]]:
    if not values:
        return kind, {}
    if all(isinstance(value, str) for value in values):
        kept = [value for value in dict.fromkeys(values) if value != ""]
        return "STRING", ({"enum": kept} if kept else {})
    if all(isinstance(value, bool) for value in values):
        return "BOOLEAN", {}
    if all(_is_number(value) for value in values):
        kind = "INTEGER" if all(isinstance(value, int) for value in values) and kind != "NUMBER" else "NUMBER"
        return kind, {"format": "enum", "enum": [json.dumps(value) for value in dict.fromkeys(values)]}
    encoded = [value if isinstance(value, str) else json.dumps(value, separators=(",", ":")) for value in values]
    return "STRING", {"enum": [value for value in dict.fromkeys(encoded) if value != ""]}


def _infer_type(node: dict[str, Any]) -> str:
    for keyword, kind in _TYPE_HINTS:
        if keyword in node:
            return kind
    return "STRING"


def _copy_sizes(node: dict[str, Any], out: dict[str, Any], kind: str) -> None:
    for key in _SIZE_KEYS[kind]:
        value = node.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out[key] = value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _permissive(node: dict[str, Any]) -> dict[str, Any]:
    """What a reference cycle (or an unresolvable reference) becomes: an object of any shape."""
    out: dict[str, Any] = {"type": "OBJECT"}
    if isinstance(node.get("description"), str) and node["description"]:
        out["description"] = node["description"]
    return out
