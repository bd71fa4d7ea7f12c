"""Generate docs/configuration.md from the Settings model (addon/settings.py) and the CLI's flags.

    scripts/gen-config-docs           # rewrite docs/configuration.md
    scripts/gen-config-docs --check   # exit 1 if the committed file is stale

Everything comes from the code: each Settings field's description, its default, its type and the
`json_schema_extra` metadata ({"env": [...], "option": "..."}) that the loader and the mitmproxy
options also use. tests/test_docs.py fails when the committed file differs from this output.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "configuration.md"
REGENERATE = "scripts/gen-config-docs"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402


def _model_class(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _list_item(annotation: Any) -> Any:
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None


def type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        name = " or ".join(type_name(a) for a in inner)
        return f"{name} (optional)" if len(inner) < len(args) else name
    if origin is list:
        item = args[0] if args else Any
        return f"list of {type_name(item)}" if not _model_class(item) else f"list of `[[…]]` tables"
    if origin is dict:
        return "table of " + " → ".join(type_name(a) for a in args) if args else "table"
    if _model_class(annotation):
        return "table"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(annotation, str(annotation))


def _constraints(field: FieldInfo) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    parts = []
    for meta in field.metadata:
        for attr, sign in words.items():
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return ", ".join(parts)


def default_text(name: str, value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int) and name.endswith("size") and value % (1024 * 1024) == 0:
        return f"`{value}` ({value // (1024 * 1024)} MiB)"
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value)
    if isinstance(value, dict):
        return "`" + json.dumps(value) + "`"
    return f"`{value}`"


def _extra(field: FieldInfo) -> dict[str, Any]:
    extra = field.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _cell(items: list[str]) -> str:
    return "<br>".join(f"`{i}`" for i in items) if items else "—"


def cli_flags() -> list[tuple[str, str, str]]:
    """(flag, metavar, help) for each `vertex-bridge` flag, read from addon.cli's parser."""
    from addon import cli

    with mock.patch.object(argparse.ArgumentParser, "parse_args", lambda self, *a, **k: self):
        parser = cli.parse_args([])
    rows = []
    for action in parser._actions:  # noqa: SLF001 (argparse has no public list of actions)
        if not action.option_strings or isinstance(action, argparse._HelpAction):  # noqa: SLF001
            continue
        flag = max(action.option_strings, key=len)
        metavar = "" if action.nargs == 0 else (action.metavar or action.dest.upper())
        text = action.help or ""
        if "%" in text:
            text = text % {**vars(action), "prog": parser.prog}
        rows.append((flag, metavar, text))
    return rows


def _nested_section(lines: list[str], title: str, model: type[BaseModel], toml_hint: str) -> None:
    lines += [f"### {title}", "", toml_hint, "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else default_text(name, field.default)
        limits = _constraints(field)
        kind = type_name(field.annotation) + (f" ({limits})" if limits else "")
        lines.append(f"| `{name}` | {kind} | {default} | {field.description or ''} |")
    lines.append("")


def render() -> str:
    from addon.settings import DEFAULT_CONFIG_FILE, Settings

    fields = Settings.model_fields
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated by {REGENERATE} from addon/settings.py and addon/cli.py. Do not edit by hand: "
        f"change the Settings model, then run {REGENERATE}. -->",
        "",
        "Every setting can come from four places. Highest precedence first:",
        "",
        "1. a command-line option: `vertex-bridge --set OPTION=VALUE` (also `mitmdump`/`mitmweb -s "
        "addon/vertex_bridge.py --set OPTION=VALUE`), and the `--host`/`--port` flags;",
        "2. an environment variable (when several are listed, the first one that is set wins);",
        f"3. a TOML file: `--config FILE`, else `$VERTEX_BRIDGE_CONFIG`, else `./{DEFAULT_CONFIG_FILE}` "
        "if it exists (option `vertex_bridge_config`);",
        "4. the default.",
        "",
        "Lists are comma-separated in the environment and in `--set` (`VERTEX_BRIDGE_API_KEYS=k1,k2`); "
        "in TOML they are arrays. Settings without an environment variable or option are TOML-only.",
        "An invalid value stops the proxy at start-up with one line naming the setting (exit status 2).",
        "",
        "## Summary",
        "",
        "| setting (TOML key) | environment | option (`--set`) | default |",
        "|---|---|---|---|",
    ]
    for name, field in fields.items():
        extra = _extra(field)
        option = extra.get("option")
        lines.append(f"| [`{name}`](#{name}) | {_cell(extra.get('env') or [])} | "
                     f"{_cell([option] if option else [])} | {default_text(name, field.default)} |")
    lines += ["", "## Settings", ""]
    nested: list[tuple[str, type[BaseModel], str]] = []
    for name, field in fields.items():
        extra = _extra(field)
        env, option = extra.get("env") or [], extra.get("option")
        limits = _constraints(field)
        lines += [f"### `{name}`", "", field.description or "", ""]
        lines.append(f"- type: {type_name(field.annotation)}" + (f" ({limits})" if limits else ""))
        lines.append(f"- default: {default_text(name, field.default)}")
        lines.append(f"- TOML: `{name}`")
        lines.append("- environment: " + (", ".join(f"`{e}`" for e in env) if env else "—"))
        lines.append("- option: " + (f"`--set {option}=…`" if option else "—"))
        lines.append("")
        if model := _model_class(field.annotation):
            nested.append((f"`[{name}]` keys", model, f"A TOML table: `[{name}]`."))
        elif model := _model_class(_list_item(field.annotation)):
            nested.append((f"`[[{name}]]` keys", model, f"A TOML array of tables: one `[[{name}]]` per entry."))
    if nested:
        lines += ["## Tables", ""]
        for title, model, hint in nested:
            _nested_section(lines, title, model, hint)
    lines += [
        "## `vertex-bridge` flags",
        "",
        "| flag | value | meaning |",
        "|---|---|---|",
    ]
    for flag, metavar, help_text in cli_flags():
        lines.append(f"| `{flag}` | {f'`{metavar}`' if metavar else ''} | {help_text} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/configuration.md from the Settings model.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
