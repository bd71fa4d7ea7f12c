"""The proxy's settings: one pydantic model, filled from defaults < TOML file < environment < options.

Each field names its environment variables and its mitmproxy option (`--set NAME=VALUE`) in its
metadata, so the loader, the mitmproxy options and the configuration reference all come from here.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from translators.models import DEFAULT_MODELS

DEFAULT_CONFIG_FILE = "vertex-bridge.toml"


def _setting(default: Any, help: str, env: tuple[str, ...] = (), option: str | None = None, **kw: Any) -> Any:
    return Field(default, description=help, json_schema_extra={"env": list(env), "option": option}, **kw)


class FallbackProvider(BaseModel):
    """An OpenAI-compatible upstream used when Vertex fails or its circuit is open ([[fallback]])."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Shown in x-vertex-bridge-upstream, logs and /health.")
    base_url: str = Field(description="The provider's OpenAI-compatible /v1 URL.")
    api_key: str | None = Field(None, description="The provider's key (prefer api_key_env).")
    api_key_env: str | None = Field(None, description="Environment variable holding the key.")
    model: str | None = Field(None, description="Model to use for every request.")
    models: dict[str, str] = Field({}, description="Requested model (or Vertex model) -> provider model.")

    def key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else self.api_key

    def model_for(self, requested: str, vertex_model: str) -> str:
        return self.models.get(requested) or self.models.get(vertex_model) or self.model or vertex_model


class RateLimit(BaseModel):
    """Token buckets ([rate_limit]); 0 disables a limit."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: float = Field(0, ge=0, description="Per client key.")
    burst: int = Field(0, ge=0, description="Bucket size per key (default: requests_per_minute).")
    tokens_per_minute: float = Field(0, ge=0, description="Per client key, charged from Vertex usage.")
    global_requests_per_minute: float = Field(0, ge=0, description="All clients together.")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    listen_host: str = _setting(
        "127.0.0.1", "Address to listen on. A non-loopback address requires api_keys.",
        ("VERTEX_BRIDGE_LISTEN_HOST",), "vertex_listen_host")
    listen_port: int = _setting(
        4000, "Port to listen on.", ("VERTEX_BRIDGE_LISTEN_PORT",), "vertex_listen_port", ge=1, le=65535)
    api_keys: list[str] = _setting(
        [], "Client API keys (comma-separated in the environment). `sha256:<hex>` entries store a key's hash.",
        ("VERTEX_BRIDGE_API_KEYS",), "vertex_api_keys")
    vertex_base_url: str | None = _setting(
        None, "Override the Vertex endpoint (default https://{location}-aiplatform.googleapis.com, "
        "or https://aiplatform.googleapis.com for global).", ("VERTEX_BRIDGE_VERTEX_BASE_URL",), "vertex_base_url")
    project: str | None = _setting(
        None, "Google Cloud project (default: the credentials' project).",
        ("VERTEX_BRIDGE_PROJECT", "GOOGLE_CLOUD_PROJECT"), "vertex_project")
    location: str = _setting(
        "global", "Vertex location, e.g. global or us-central1.",
        ("VERTEX_BRIDGE_LOCATION", "GOOGLE_CLOUD_LOCATION"), "vertex_location")
    credentials: str | None = _setting(
        None, "Service-account or ADC JSON file (default: the ADC search order).",
        ("GOOGLE_APPLICATION_CREDENTIALS",), "vertex_credentials")
    google_api_key: str | None = _setting(
        None, "Vertex express-mode API key (sent as x-goog-api-key; no OAuth).",
        ("VERTEX_BRIDGE_GOOGLE_API_KEY",), "vertex_google_api_key")
    models: list[str] = _setting(
        list(DEFAULT_MODELS), "Vertex model ids served by /v1/models (each also as vertex/<model>).",
        ("VERTEX_BRIDGE_MODELS",), "vertex_models")
    aliases: dict[str, str] = _setting(
        {}, "Model aliases: alias -> Vertex model id (the [models] table in TOML).", (), None)
    max_body_size: int = _setting(
        32 * 1024 * 1024, "Largest request body accepted, in bytes (413 above).",
        ("VERTEX_BRIDGE_MAX_BODY_SIZE",), "vertex_max_body_size", ge=1024)
    cors_origins: list[str] = _setting(
        ["*"], "Origins allowed by CORS ('*' echoes any Origin).",
        ("VERTEX_BRIDGE_CORS_ORIGINS",), "vertex_cors_origins")
    log_format: Literal["text", "json"] = _setting(
        "text", "Access log format: human-readable text or JSON lines.",
        ("VERTEX_BRIDGE_LOG_FORMAT",), "vertex_log_format")
    log_bodies: bool = _setting(
        False, "Log prompt and reply text (off by default; never logs keys or tokens).",
        ("VERTEX_BRIDGE_LOG_BODIES",), "vertex_log_bodies")
    metrics: bool = _setting(
        True, "Serve Prometheus metrics at GET /metrics (behind the client key, or on metrics_port).",
        ("VERTEX_BRIDGE_METRICS",), "vertex_metrics")
    metrics_port: int = _setting(
        0, "Serve GET /metrics on this separate port, without a key, instead of on the main port (0: main port).",
        ("VERTEX_BRIDGE_METRICS_PORT",), "vertex_metrics_port", ge=0, le=65535)
    metrics_host: str = _setting(
        "127.0.0.1", "Address metrics_port listens on.", ("VERTEX_BRIDGE_METRICS_HOST",), "vertex_metrics_host")
    reasoning_output: Literal["reasoning_content", "think_tags", "hidden"] = _setting(
        "reasoning_content", "How thoughts reach the client: a reasoning_content field, <think> tags, or hidden.",
        ("VERTEX_BRIDGE_REASONING_OUTPUT",), "vertex_reasoning_output")
    schema_mode: Literal["json_schema", "openapi"] = _setting(
        "json_schema", "Send tool schemas as parametersJsonSchema, or sanitized OpenAPI parameters.",
        ("VERTEX_BRIDGE_SCHEMA_MODE",), "vertex_schema_mode")
    retries: int = _setting(
        2, "Retries of a 429/500/503 or connection failure before any byte reached the client.",
        ("VERTEX_BRIDGE_RETRIES",), "vertex_retries", ge=0, le=10)
    retry_budget: float = _setting(
        10.0, "Seconds that retries (backoff included) may add to a request.",
        ("VERTEX_BRIDGE_RETRY_BUDGET",), "vertex_retry_budget", ge=0)
    connect_timeout: float = _setting(
        10.0, "Seconds to connect to an upstream.", ("VERTEX_BRIDGE_CONNECT_TIMEOUT",), "vertex_connect_timeout", gt=0)
    first_byte_timeout: float = _setting(
        600.0, "Seconds to wait for an upstream's reply headers (thinking models can think for minutes).",
        ("VERTEX_BRIDGE_FIRST_BYTE_TIMEOUT",), "vertex_first_byte_timeout", gt=0)
    idle_timeout: float = _setting(
        300.0, "Seconds of silence allowed between two chunks of a reply.",
        ("VERTEX_BRIDGE_IDLE_TIMEOUT",), "vertex_idle_timeout", gt=0)
    ping_interval: float = _setting(
        10.0, "Seconds of silence in a stream before a `: ping` comment keeps tunnels and clients alive.",
        ("VERTEX_BRIDGE_PING_INTERVAL",), "vertex_ping_interval", gt=0)
    breaker_threshold: int = _setting(
        5, "Consecutive failures (429, 5xx, timeouts) that open an upstream's circuit.",
        ("VERTEX_BRIDGE_BREAKER_THRESHOLD",), "vertex_breaker_threshold", ge=1)
    breaker_cooldown: float = _setting(
        30.0, "Seconds an open circuit waits before letting one trial request through.",
        ("VERTEX_BRIDGE_BREAKER_COOLDOWN",), "vertex_breaker_cooldown", gt=0)
    fallback: list[FallbackProvider] = _setting(
        [], "OpenAI-compatible providers tried when Vertex fails ([[fallback]] tables in TOML).", (), None)
    rate_limit: RateLimit = _setting(RateLimit(), "Request and token rate limits ([rate_limit] table).", (), None)

    @field_validator("listen_host")
    @classmethod
    def _host(cls, v: str) -> str:
        return v.strip() or "127.0.0.1"

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.listen_host)

    def exposure_problem(self, listen_host: str | None = None) -> str | None:
        """Why listening on `listen_host` (default: ours) must not start: it would expose Vertex to anyone."""
        host = self.listen_host if listen_host is None else listen_host
        if self.api_keys or is_loopback(host):
            return None
        return (f"refusing to listen on {host or 'all interfaces'} without api_keys: anyone who can reach "
                "this address could spend your Vertex quota. Set VERTEX_BRIDGE_API_KEYS.")

    @property
    def base_url(self) -> str:
        if self.vertex_base_url:
            return self.vertex_base_url.rstrip("/")
        if self.location == "global":
            return "https://aiplatform.googleapis.com"
        return f"https://{self.location}-aiplatform.googleapis.com"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "" (all interfaces) or a name we cannot vouch for


class SettingsError(ValueError):
    """A setting is invalid; the message names it in one line."""


def field_env(name: str) -> list[str]:
    return Settings.model_fields[name].json_schema_extra["env"]  # type: ignore[index]


def field_option(name: str) -> str | None:
    return Settings.model_fields[name].json_schema_extra["option"]  # type: ignore[index]


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"config file {path}: {e}") from e
    models = data.pop("models", None)
    if isinstance(models, dict):
        data["aliases"] = models
    elif models is not None:
        data["models"] = models
    return data


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        for var in field_env(name):
            if environ.get(var):
                raw = environ[var]
                is_list = getattr(field.annotation, "__origin__", None) is list
                values[name] = [s.strip() for s in raw.split(",") if s.strip()] if is_list else raw
                break
    return values


def config_path(explicit: str | None, environ: dict[str, str]) -> Path | None:
    """The TOML file to read: --config, else $VERTEX_BRIDGE_CONFIG, else ./vertex-bridge.toml if present."""
    chosen = explicit or environ.get("VERTEX_BRIDGE_CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise SettingsError(f"config file {path}: not found")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_settings(
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Merge the sources (highest precedence last) and validate; raise SettingsError naming the setting."""
    environ = dict(os.environ) if environ is None else environ
    merged: dict[str, Any] = {}
    path = config_path(config_file, environ)
    if path:
        merged.update(_from_toml(path))
    merged.update(_from_env(environ))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings.model_validate(merged)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        raise SettingsError(f"invalid setting {where!r}: {err['msg']} (got {err.get('input')!r})") from None
