"""Configuration: the contract env-var names, precedence, TOML, and one-line errors."""

from __future__ import annotations

import pytest

from addon.settings import Settings, SettingsError, load_settings


def test_defaults():
    s = load_settings(environ={})
    assert (s.listen_host, s.listen_port, s.location, s.api_keys) == ("127.0.0.1", 4000, "global", [])
    assert s.base_url == "https://aiplatform.googleapis.com"
    assert {"gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"} <= set(s.models)


@pytest.mark.parametrize("var,field,value,expected", [
    ("VERTEX_BRIDGE_LISTEN_HOST", "listen_host", "0.0.0.0", "0.0.0.0"),
    ("VERTEX_BRIDGE_LISTEN_PORT", "listen_port", "4100", 4100),
    ("VERTEX_BRIDGE_API_KEYS", "api_keys", "a, b,c", ["a", "b", "c"]),
    ("VERTEX_BRIDGE_VERTEX_BASE_URL", "vertex_base_url", "http://127.0.0.1:9", "http://127.0.0.1:9"),
    ("GOOGLE_CLOUD_PROJECT", "project", "p1", "p1"),
    ("VERTEX_BRIDGE_PROJECT", "project", "p2", "p2"),
    ("GOOGLE_CLOUD_LOCATION", "location", "us-central1", "us-central1"),
    ("VERTEX_BRIDGE_LOCATION", "location", "europe-west4", "europe-west4"),
    ("GOOGLE_APPLICATION_CREDENTIALS", "credentials", "/x/sa.json", "/x/sa.json"),
    ("VERTEX_BRIDGE_GOOGLE_API_KEY", "google_api_key", "AQ.x", "AQ.x"),
])
def test_contract_env_vars(var, field, value, expected):
    assert getattr(load_settings(environ={var: value}), field) == expected


def test_regional_base_url():
    assert load_settings(environ={"GOOGLE_CLOUD_LOCATION": "us-central1"}).base_url == \
        "https://us-central1-aiplatform.googleapis.com"


def test_precedence_flags_over_env_over_toml(tmp_path):
    cfg = tmp_path / "vb.toml"
    cfg.write_text('listen_port = 4200\nlocation = "us-east1"\nproject = "from-toml"\n'
                   '[models]\n"vx-flash" = "gemini-2.5-flash"\n')
    env = {"VERTEX_BRIDGE_CONFIG": str(cfg), "VERTEX_BRIDGE_LISTEN_PORT": "4300"}
    s = load_settings(environ=env)
    assert (s.listen_port, s.location, s.project) == (4300, "us-east1", "from-toml")
    assert s.aliases == {"vx-flash": "gemini-2.5-flash"}
    assert load_settings(overrides={"listen_port": 4400}, environ=env).listen_port == 4400


def test_toml_models_list_replaces_defaults(tmp_path):
    cfg = tmp_path / "vb.toml"
    cfg.write_text('models = ["gemini-2.5-pro"]\n')
    assert load_settings(str(cfg), environ={}).models == ["gemini-2.5-pro"]


def test_default_config_file_in_working_directory(tmp_path, monkeypatch):
    (tmp_path / "vertex-bridge.toml").write_text('location = "asia-east1"\n')
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).location == "asia-east1"


@pytest.mark.parametrize("env,needle", [
    ({"VERTEX_BRIDGE_LISTEN_PORT": "eighty"}, "'listen_port'"),
    ({"VERTEX_BRIDGE_LISTEN_PORT": "70000"}, "'listen_port'"),
    ({"VERTEX_BRIDGE_LOG_FORMAT": "xml"}, "'log_format'"),
    ({"VERTEX_BRIDGE_CONFIG": "/nonexistent/vb.toml"}, "not found"),
])
def test_bad_setting_is_one_clear_line(env, needle):
    with pytest.raises(SettingsError) as e:
        load_settings(environ=env)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bad_toml_names_the_file(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("listen_port = [")
    with pytest.raises(SettingsError, match="bad.toml"):
        load_settings(str(cfg), environ={})


def test_unknown_toml_key_is_rejected(tmp_path):
    cfg = tmp_path / "vb.toml"
    cfg.write_text('listen_prot = 1\n')
    with pytest.raises(SettingsError, match="listen_prot"):
        load_settings(str(cfg), environ={})


def test_exposure_rule():
    assert Settings().exposure_problem() is None
    assert "without api_keys" in Settings(listen_host="0.0.0.0").exposure_problem()
    assert Settings(listen_host="0.0.0.0", api_keys=["k"]).exposure_problem() is None
    assert Settings().exposure_problem("") is not None  # mitmproxy's "all interfaces"
