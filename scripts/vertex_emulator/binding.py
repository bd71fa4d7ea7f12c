"""Binds a JSON body to the proto field tables the way Google's JSON front end does.

It reports what the front end rejects before the model ever sees the request:
unknown field names, lists given to singular fields, scalars of the wrong type,
unknown enum values and two members of one oneof. Paths use proto (snake_case)
names; map entries are addressed as ``properties[N].value``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from .proto import ENUMS, ONEOFS, SCALAR_TYPE_NAMES, Field, fields_of, resolve_field

_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")


@dataclass(frozen=True)
class Violation:
    """One error line; ``field`` is set for errors reported as BadRequest field violations."""

    description: str
    field: str | None = None


def bind(value: Any, message: str, *, path: str = "", api_version: str = "v1") -> list[Violation]:
    """All binding errors of ``value`` read as ``message``, in document order."""
    binder = _Binder(api_version)
    binder.message(value, message, path)
    return binder.found


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    padded = value + "=" * (-len(value) % 4)
    try:
        base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


SCALAR_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int32": _is_int,
    "int64": _is_int,
    "float": _is_number,
    "double": _is_number,
    "bytes": _is_base64,
    "struct": lambda v: isinstance(v, dict),
    "duration": lambda v: isinstance(v, str) and _DURATION.match(v) is not None,
}


class _Binder:
    def __init__(self, api_version: str) -> None:
        self.api_version = api_version
        self.found: list[Violation] = []

    def message(self, obj: Any, message: str, path: str) -> None:
        if not isinstance(obj, dict):
            self.invalid(path, f"type.googleapis.com/google.cloud.aiplatform.{self.api_version}.{message}", obj)
            return
        fields = fields_of(message, self.api_version)
        oneof_name, oneof_members = ONEOFS.get(message, ("", ()))
        oneof_taken = False
        for key, value in obj.items():
            name = resolve_field(message, key, self.api_version)
            if name is None:
                self.unknown(key, path, "Cannot find field.")
                continue
            if name in oneof_members and value is not None:
                if oneof_taken:
                    self.found.append(Violation(
                        f"Invalid value at '{path}' (oneof), oneof field '{oneof_name}' is already set. "
                        f"Cannot set '{key}'", path))
                    continue
                oneof_taken = True
            self.field(value, fields[name], join(path, name), key, path)

    def field(self, value: Any, field: Field, path: str, key: str, parent: str) -> None:
        if value is None or field.kind == "value":
            return
        if not isinstance(value, list):
            self.single(value, field, path)  # a lone value binds as a one-element list
        elif not field.repeated:
            self.unknown(key, parent, "Proto field is not repeating, cannot start list.")
        else:
            for index, item in enumerate(value):
                self.single(item, field, f"{path}[{index}]")

    def single(self, value: Any, field: Field, path: str) -> None:
        if field.kind == "message":
            self.message(value, field.type, path)
        elif field.kind == "map":
            self.map(value, field.type, path)
        elif field.kind == "enum":
            self.enum(value, field.type, path)
        elif not SCALAR_CHECKS[field.kind](value):
            self.invalid(path, SCALAR_TYPE_NAMES[field.kind], value)

    def map(self, value: Any, value_message: str | None, path: str) -> None:
        if not isinstance(value, dict):
            self.invalid(path, "map", value)
            return
        for index, entry in enumerate(value.values()):
            entry_path = f"{path}[{index}].value"
            if value_message is None:
                if not isinstance(entry, str):
                    self.invalid(entry_path, SCALAR_TYPE_NAMES["string"], entry)
            elif entry is not None:
                self.message(entry, value_message, entry_path)

    def enum(self, value: Any, enum_name: str, path: str) -> None:
        spec = ENUMS[enum_name]
        if _is_int(value) and not isinstance(value, str):
            return
        known = isinstance(value, str) and (
            value in spec.values or (spec.case_insensitive and value.upper() in spec.values))
        if not known:
            self.invalid(path, f"type.googleapis.com/google.cloud.aiplatform.{self.api_version}.{spec.proto_name}",
                         value)

    def unknown(self, key: str, path: str, reason: str) -> None:
        where = f" at '{path}'" if path else ""
        self.found.append(Violation(f'Invalid JSON payload received. Unknown name "{key}"{where}: {reason}', path))

    def invalid(self, path: str, type_name: str, value: Any) -> None:
        rendered = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        self.found.append(Violation(f"Invalid value at '{path}' ({type_name}), {rendered}", path))

