"""Settings: D2W_ overrides and production's refusal to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from config import ConfigError, DevelopmentConfig, load_settings
from d2w import create_app

GOOD_PRODUCTION_ENV = {
    "D2W_ENV": "production",
    "D2W_SECRET_KEY": "k" * 48,
    "D2W_DATABASE_URL": "postgresql+psycopg://d2w@127.0.0.1:5432/d2w",
    "D2W_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "D2W_MAIL_SERVER": "smtp.example.org",
    "D2W_BASE_URL": "https://d2w.example.org",
}


def test_environment_overrides_are_typed():
    settings = load_settings(
        "development",
        {"D2W_SESSION_IDLE_MINUTES": "30", "D2W_HSTS_ENABLED": "yes", "D2W_MAIL_FROM": "x@example.org"},
    )
    assert settings["SESSION_IDLE_MINUTES"] == 30
    assert settings["HSTS_ENABLED"] is True
    assert settings["MAIL_FROM"] == "x@example.org"


def test_database_url_alias():
    assert load_settings("development", {"D2W_DATABASE_URL": "sqlite:///x"})["SQLALCHEMY_DATABASE_URI"] == "sqlite:///x"


@pytest.mark.parametrize(
    "env,message",
    [
        ({"D2W_SESSION_IDLE_MINUTES": "soon"}, "must be a whole number"),
        ({"D2W_HSTS_ENABLED": "maybe"}, "must be true or false"),
        ({"D2W_ENV": "staging"}, "D2W_ENV must be one of"),
    ],
)
def test_bad_overrides_say_what_is_wrong(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(None, env)


def test_unknown_d2w_variables_are_ignored():
    settings = load_settings("development", {"D2W_NOT_A_SETTING": "1"})
    assert "NOT_A_SETTING" not in settings


def test_development_uses_sqlite_under_instance(monkeypatch):
    monkeypatch.delenv("D2W_DATABASE_URL", raising=False)
    app = create_app(DevelopmentConfig)
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/d2w.sqlite3")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


@pytest.mark.parametrize(
    "missing,message",
    [
        ("D2W_SECRET_KEY", "D2W_SECRET_KEY is not set"),
        ("D2W_DATABASE_URL", "D2W_DATABASE_URL is not set"),
        ("D2W_RATELIMIT_STORAGE_URI", "D2W_RATELIMIT_STORAGE_URI is not set"),
        ("D2W_MAIL_SERVER", "D2W_MAIL_SERVER is not set"),
    ],
)
def test_production_refuses_to_start_without_its_settings(missing, message):
    env = {k: v for k, v in GOOD_PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=message):
        settings = load_settings(None, env)
        settings["CONFIG_CLASS"].validate(settings)


def test_production_refuses_a_short_secret():
    env = {**GOOD_PRODUCTION_ENV, "D2W_SECRET_KEY": "short"}
    settings = load_settings(None, env)
    with pytest.raises(ConfigError, match="too short"):
        settings["CONFIG_CLASS"].validate(settings)


def test_wsgi_entry_point_says_why_in_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("D2W_")}
    env["D2W_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "-c", "import d2w.wsgi"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == ["d2w cannot start: D2W_SECRET_KEY is not set: production needs a random secret of 32+ characters"]


def test_production_app_has_secure_cookies_and_hsts(monkeypatch):
    for key, value in GOOD_PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("D2W_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("D2W_RATELIMIT_STORAGE_URI", "memory://")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    client = app.test_client()
    response = client.get("/healthz", base_url="https://d2w.example.org")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    response = client.get("/auth/login", base_url="https://d2w.example.org")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_create_app_runs_no_migrations(tmp_path):
    import sqlalchemy as sa

    path = tmp_path / "empty.sqlite3"
    create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    if path.exists():
        assert sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names() == []
