"""Start-up configuration: a bad value stops the app with one line naming the variable."""

import os
import subprocess
import sys

import pytest

from pwapp.settings import ROOT


def start(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with `env` on top of a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")}
    base["PWAPP_SECRET_KEY"] = "k" * 40
    return subprocess.run(
        [sys.executable, "-c", "import pwapp.settings as s; print(s.settings.database_url)"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PWAPP_SESSION_IDLE_MINUTES", "ten"),
        ("PWAPP_PASSWORD_MIN_LENGTH", "4"),
        ("PWAPP_RETENTION_DAYS", "0"),
        ("PWAPP_BASE_URL", "localhost:3000"),
        ("PWAPP_MAIL_BACKEND", "pigeon"),
        ("PWAPP_SMTP_SECURITY", "maybe"),
        ("PWAPP_SECRET_KEY", "short"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_it(variable, value):
    result = start(**{variable: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in result.stderr


def test_production_requires_a_secret_key():
    result = start(PWAPP_ENV="production", PWAPP_SECRET_KEY="")
    assert result.returncode != 0 and "PWAPP_SECRET_KEY" in result.stderr


def test_smtp_backend_requires_a_host():
    result = start(PWAPP_MAIL_BACKEND="smtp")
    assert result.returncode != 0 and "PWAPP_SMTP_HOST" in result.stderr


def test_defaults_start_on_sqlite():
    result = start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("sqlite:///")


def test_only_the_site_may_open_the_websocket_in_production():
    from dataclasses import replace

    from pwapp.settings import get_settings

    dev = replace(get_settings(), env="development", base_url="http://localhost:3000")
    assert dev.allowed_origins == ["http://localhost:3000", "http://127.0.0.1:3000"]
    prod = replace(get_settings(), env="production", base_url="https://pw.example.org")
    assert prod.allowed_origins == ["https://pw.example.org"]
    assert replace(prod, base_url="http://localhost:3000").allowed_origins == ["http://localhost:3000"]
