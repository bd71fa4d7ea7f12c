"""The `vertex_*` mitmproxy options and the validated Settings they produce.

Options are generated from the Settings model, so `--set vertex_project=…` works under mitmdump,
mitmweb and `vertex-bridge` alike. An option left at its empty default means "not set here", and the
environment, the TOML file or the default decides (see addon.settings).
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Sequence
from typing import Any, Optional

from mitmproxy import ctx, exceptions
from mitmproxy.proxy import mode_specs

from .settings import Settings, SettingsError, field_option, load_settings

log = logging.getLogger("vertex_bridge")


def _option_type(annotation: Any) -> type:
    origin = typing.get_origin(annotation)
    if origin is list:
        return Sequence[str]
    return Optional[str]  # everything else is parsed by pydantic from a string


def _option_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value) or None
    return value if value not in ("", None) else None


class Config:
    """Owns the settings; other addons read `config.settings` and subscribe to changes."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.overrides = overrides or {}
        self.settings = Settings()
        self._listeners: list[Callable[[Settings], None]] = []

    def on_change(self, listener: Callable[[Settings], None]) -> None:
        self._listeners.append(listener)

    def load(self, loader):
        loader.add_option(
            "vertex_bridge_config", Optional[str], None,
            "vertex-bridge TOML config file (default: $VERTEX_BRIDGE_CONFIG or ./vertex-bridge.toml).",
        )
        for name, field in Settings.model_fields.items():
            option = field_option(name)
            if option:
                loader.add_option(option, _option_type(field.annotation),
                                  [] if typing.get_origin(field.annotation) is list else None,
                                  field.description or name)

    def configure(self, updated):
        if any(o == "vertex_bridge_config" or o.startswith("vertex_") for o in updated):
            self._load_settings()
        if updated & {"mode", "listen_host", "vertex_api_keys", "vertex_bridge_config"}:
            self._check_exposure()

    def _check_exposure(self) -> None:
        """mitmproxy listens on every interface unless told otherwise: never do that without keys."""
        for spec in ctx.options.mode:
            mode = mode_specs.ProxyMode.parse(spec)
            if not isinstance(mode, mode_specs.ReverseMode):
                continue
            host = mode.listen_host(ctx.options.listen_host or None)
            if problem := self.settings.exposure_problem(host):
                raise exceptions.OptionsError(problem)

    def _load_settings(self) -> None:
        from_options = {}
        for name in Settings.model_fields:
            option = field_option(name)
            if option and (value := _option_value(getattr(ctx.options, option))) is not None:
                from_options[name] = value
        try:
            self.settings = load_settings(
                ctx.options.vertex_bridge_config, {**self.overrides, **from_options}
            )
        except SettingsError as e:
            raise exceptions.OptionsError(str(e)) from None
        for listener in self._listeners:
            listener(self.settings)
