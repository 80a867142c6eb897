"""Start-up configuration: a bad value stops the app with one line naming the variable."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT

# pwapp.pwapp is left out: it is the standalone app, and importing it installs pwapp (which loads
# the settings, as `make run` must).
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, pwapp
for found in pkgutil.walk_packages(pwapp.__path__, "pwapp."):
    if found.name != "pwapp.pwapp":
        importlib.import_module(found.name)
print("imported")
"""


def run(code: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter with `env` on top of an environment without PWAPP_*."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def start(**env: str) -> subprocess.CompletedProcess:
    """Read the settings in a fresh interpreter with `env` on top of a clean environment."""
    return run("import pwapp.settings as s; print(s.settings.database_url)", **{"PWAPP_SECRET_KEY": "k" * 40, **env})


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_importing_every_module_neither_exits_nor_writes_files(tmp_path):
    # A copy of the package in a fresh folder, run from there (where .secret_key and pwapp.db would go).
    shutil.copytree(ROOT / "pwapp", tmp_path / "pwapp", ignore=shutil.ignore_patterns("__pycache__"))
    before = files_under(tmp_path)
    result = run(IMPORT_EVERY_MODULE, cwd=tmp_path, PWAPP_RETENTION_DAYS="zero", PYTHONDONTWRITEBYTECODE="1")
    assert result.returncode == 0 and result.stdout.strip() == "imported", result.stderr
    created = {name for name in files_under(tmp_path) - before if not name.startswith(".states")}
    assert created == set()  # Reflex's own .states folder aside: no .secret_key, no database


def test_every_public_name_resolves_after_import_pwapp():
    code = "import pwapp; print(*pwapp.__all__); print(*(n for n in pwapp.__all__ if getattr(pwapp, n) is not None))"
    result = run(code, PWAPP_SECRET_KEY="k" * 40)
    assert result.returncode == 0, result.stderr
    listed, resolved = (line.split() for line in result.stdout.splitlines())
    assert resolved == listed and {"install", "AuthState", "hooks", "events", "configure"} <= set(listed)


def test_settings_can_be_given_in_code():
    code = (
        "from pwapp.settings import configure, settings\n"
        "configure(base_url='https://acme.example', secret_key='s' * 40, password_min_length=16)\n"
        "print(settings.base_url, settings.password_min_length, settings.session_cookie_name)"
    )
    result = run(code, PWAPP_PASSWORD_MIN_LENGTH="20", PWAPP_BASE_URL="http://localhost:9")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["https://acme.example", "16", "__Host-pwapp_session"]


def test_a_bad_value_given_in_code_fails_with_one_line_naming_it():
    result = run("from pwapp.settings import configure\nconfigure(retention_days=0, secret_key='s' * 40)")
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and "PWAPP_RETENTION_DAYS" in lines[0]


def test_make_run_still_stops_with_one_line_on_a_bad_value():
    # `reflex run` reads rxconfig.py first, which reads the settings.
    result = run("import rxconfig", PWAPP_SECRET_KEY="k" * 40, PWAPP_SESSION_MAX_HOURS="forever")
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and "PWAPP_SESSION_MAX_HOURS" in lines[0]


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
        ("PWAPP_REQUIRE_EMAIL_VERIFICATION", "maybe"),
        ("PWAPP_VERIFY_TOKEN_MAX_AGE", "30"),
        ("PWAPP_UNVERIFIED_ACCOUNT_HOURS", "0"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_it(variable, value):
    result = start(**{variable: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in result.stderr


def test_sign_up_verifies_the_address_unless_turned_off():
    show = "import pwapp.settings as s; print(s.settings.require_email_verification, s.settings.verify_token_max_age, " \
        "s.settings.unverified_account_hours)"
    assert run(show, PWAPP_SECRET_KEY="k" * 40).stdout.split() == ["True", "86400", "48"]
    assert run(show, PWAPP_SECRET_KEY="k" * 40, PWAPP_REQUIRE_EMAIL_VERIFICATION="off").stdout.split()[0] == "False"


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


def test_import_pwapp_loads_nothing_else():
    result = run("import sys, pwapp\nprint(sorted(m for m in sys.modules if m.startswith(('pwapp', 'reflex'))))")
    assert result.returncode == 0 and result.stdout.strip() == "['pwapp']", result.stderr


PG = "postgresql+psycopg://pwapp@db.example/pwapp"
REDIS = "redis://cache.example:6379/0"
SHOW_WORKERS = "import os, pwapp.settings as s; print(s.settings.workers, os.cpu_count())"


def test_one_worker_unless_redis_and_postgresql_are_set():
    assert run(SHOW_WORKERS, PWAPP_SECRET_KEY="k" * 40).stdout.split()[0] == "1"
    assert run(SHOW_WORKERS, PWAPP_SECRET_KEY="k" * 40, PWAPP_REDIS_URL=REDIS).stdout.split()[0] == "1"  # SQLite
    workers, cores = run(SHOW_WORKERS, PWAPP_SECRET_KEY="k" * 40, PWAPP_REDIS_URL=REDIS, PWAPP_DATABASE_URL=PG).stdout.split()
    assert workers == cores
    chosen = run(SHOW_WORKERS, PWAPP_SECRET_KEY="k" * 40, PWAPP_REDIS_URL=REDIS, PWAPP_DATABASE_URL=PG, PWAPP_WORKERS="3")
    assert chosen.stdout.split()[0] == "3"


@pytest.mark.parametrize(
    "env, named",
    [
        ({"PWAPP_WORKERS": "2", "PWAPP_DATABASE_URL": PG}, "PWAPP_REDIS_URL"),
        ({"PWAPP_WORKERS": "2", "PWAPP_REDIS_URL": REDIS}, "PWAPP_DATABASE_URL"),
        ({"PWAPP_WORKERS": "0"}, "PWAPP_WORKERS"),
    ],
)
def test_several_workers_need_redis_and_postgresql(env, named):
    result = start(**env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and named in lines[0] and "PWAPP_WORKERS" in lines[0]


SHOW_CONFIG = (
    "import os, rxconfig as r; c = r.config\n"
    "print(str(c.state_manager_mode), c.redis_url, c.redis_lock_expiration, c.redis_token_expiration, os.environ['GRANIAN_WORKERS'])"
)


def test_reflex_keeps_state_in_memory_with_one_worker_by_default():
    result = run(SHOW_CONFIG, PWAPP_SECRET_KEY="k" * 40, GRANIAN_WORKERS="7")
    assert result.returncode == 0, result.stderr
    mode, _url, *_, workers = result.stdout.split()
    assert (mode, workers) == ("memory", "1")


def test_with_redis_reflex_keeps_state_there_and_runs_the_workers_asked_for():
    result = run(SHOW_CONFIG, PWAPP_SECRET_KEY="k" * 40, PWAPP_REDIS_URL=REDIS, PWAPP_DATABASE_URL=PG, PWAPP_WORKERS="3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["redis", REDIS, "5000", "3600", "3"]
