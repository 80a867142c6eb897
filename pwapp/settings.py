"""Typed settings, read from `.env`, the environment and code at first use (never at import).

`settings.x` reads the current settings; `configure(**overrides)` sets them from code (an
embedding app), `get_settings()` returns them, loading `PWAPP_*` variables the first time.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from pwapp.files import publish_once, tighten


def app_dir() -> Path:
    """The folder the app runs in (where its rxconfig.py is): home of `.env`, `.secret_key`, and
    the default SQLite file and mail folder, whether pwapp is a checkout or an installed package."""
    return Path.cwd()


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _int(source: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = source.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _choice(source: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = source.get(name, "").strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


SWITCH = ("on", "off", "true", "false", "1", "0", "yes", "no")
ON = ("on", "true", "1", "yes")


def _base_url(source: Mapping[str, str]) -> str:
    raw = source.get("PWAPP_BASE_URL", "").strip() or f"http://localhost:{source.get('PORT', '3000')}"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"PWAPP_BASE_URL must be an absolute http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _workers(source: Mapping[str, str], redis_url: str | None, database_url: str) -> int:
    """PWAPP_WORKERS: one per core with Redis on a server database, else 1; several need both."""
    sqlite = database_url.startswith("sqlite")
    workers = _int(source, "PWAPP_WORKERS", (os.cpu_count() or 1) if redis_url and not sqlite else 1)
    if workers > 1 and not redis_url:
        raise SettingsError("PWAPP_WORKERS above 1 requires PWAPP_REDIS_URL (the processes share state through it)")
    if workers > 1 and sqlite:
        raise SettingsError("PWAPP_WORKERS above 1 requires a PostgreSQL PWAPP_DATABASE_URL, not SQLite")
    return workers


def _secret_key(source: Mapping[str, str], env: str) -> str:
    key = source.get("PWAPP_SECRET_KEY", "").strip()
    if key:
        if len(key) < 32:
            raise SettingsError("PWAPP_SECRET_KEY must be at least 32 characters")
        return key
    if env == "production":
        raise SettingsError("PWAPP_SECRET_KEY is required when PWAPP_ENV=production")
    path = app_dir() / ".secret_key"
    if not path.exists():
        publish_once(path, secrets.token_urlsafe(48).encode())
    tighten(path)  # a key file from an older version may be readable by others
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    """Every setting pwapp reads; see the README for what each one does."""

    env: str
    product_name: str
    base_url: str
    secret_key: str
    database_url: str
    redis_url: str | None
    workers: int
    session_idle_minutes: int
    session_max_hours: int
    password_min_length: int
    password_max_length: int
    reset_token_max_age: int
    require_email_verification: bool
    verify_token_max_age: int
    unverified_account_hours: int
    retention_days: int
    trusted_proxy_hops: int
    mail_backend: str
    mail_from: str
    mail_dir: Path
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    smtp_security: str
    smtp_timeout: int

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def allowed_origins(self) -> list[str]:
        """Origins whose pages may open the websocket: the site itself; in development also the
        other spelling of a loopback host, so http://127.0.0.1:3000 works like localhost."""
        parts = urlsplit(self.base_url)
        spellings = {"localhost", "127.0.0.1"}
        if self.env != "development" or parts.hostname not in spellings:
            return [self.base_url]
        port = f":{parts.port}" if parts.port else ""
        return [self.base_url] + [f"{parts.scheme}://{h}{port}" for h in sorted(spellings - {parts.hostname})]

    @property
    def session_cookie_name(self) -> str:
        return "__Host-pwapp_session" if self.secure_cookies else "pwapp_session"

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Read and validate the environment (after loading `.env`); `overrides` (field names,
        e.g. `base_url=`) take the place of their `PWAPP_*` variable and are checked alike."""
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}")
        load_dotenv(app_dir() / ".env", override=False)
        source = {**os.environ, **{f"PWAPP_{k.upper()}": str(v) for k, v in overrides.items() if v is not None}}
        env = _choice(source, "PWAPP_ENV", "development", ("development", "production"))
        mail_backend = _choice(source, "PWAPP_MAIL_BACKEND", "console", ("console", "file", "smtp"))
        smtp_host = source.get("PWAPP_SMTP_HOST", "").strip()
        if mail_backend == "smtp" and not smtp_host:
            raise SettingsError("PWAPP_SMTP_HOST is required when PWAPP_MAIL_BACKEND=smtp")
        security = _choice(source, "PWAPP_SMTP_SECURITY", "starttls", ("starttls", "ssl", "none"))
        mail_from = source.get("PWAPP_MAIL_FROM", "").strip() or "pwapp <no-reply@localhost>"
        database_url = source.get("PWAPP_DATABASE_URL", "").strip() or f"sqlite:///{app_dir() / 'pwapp.db'}"
        redis_url = source.get("PWAPP_REDIS_URL", "").strip() or None
        return cls(
            env=env,
            product_name=" ".join(source.get("PWAPP_PRODUCT_NAME", "").split()) or "pwapp",
            base_url=_base_url(source),
            secret_key=_secret_key(source, env),
            database_url=database_url,
            redis_url=redis_url,
            workers=_workers(source, redis_url, database_url),
            session_idle_minutes=_int(source, "PWAPP_SESSION_IDLE_MINUTES", 60 * 24 * 7),
            session_max_hours=_int(source, "PWAPP_SESSION_MAX_HOURS", 24 * 30),
            password_min_length=_int(source, "PWAPP_PASSWORD_MIN_LENGTH", 12, minimum=8),
            password_max_length=_int(source, "PWAPP_PASSWORD_MAX_LENGTH", 1024, minimum=64),
            reset_token_max_age=_int(source, "PWAPP_RESET_TOKEN_MAX_AGE", 3600, minimum=60),
            require_email_verification=_choice(source, "PWAPP_REQUIRE_EMAIL_VERIFICATION", "on", SWITCH) in ON,
            verify_token_max_age=_int(source, "PWAPP_VERIFY_TOKEN_MAX_AGE", 24 * 3600, minimum=60),
            unverified_account_hours=_int(source, "PWAPP_UNVERIFIED_ACCOUNT_HOURS", 48),
            retention_days=_int(source, "PWAPP_RETENTION_DAYS", 30),
            trusted_proxy_hops=_int(source, "PWAPP_TRUSTED_PROXY_HOPS", 0, minimum=0),
            mail_backend=mail_backend,
            mail_from=mail_from,
            mail_dir=Path(source.get("PWAPP_MAIL_DIR", "").strip() or app_dir() / "var" / "mail"),
            smtp_host=smtp_host,
            smtp_port=_int(source, "PWAPP_SMTP_PORT", 465 if security == "ssl" else 587),
            smtp_username=source.get("PWAPP_SMTP_USERNAME", ""),
            smtp_password=source.get("PWAPP_SMTP_PASSWORD", ""),
            smtp_security=security,
            smtp_timeout=_int(source, "PWAPP_SMTP_TIMEOUT", 10),
        )


_current: Settings | None = None


def load(**overrides: object) -> Settings:
    """Settings for this process, or exit with one line naming the bad variable."""
    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        sys.exit(f"pwapp: configuration error: {exc}")


def configure(**overrides: object) -> Settings:
    """Make the settings `PWAPP_*` variables give, with `overrides` on top, the current ones.

    Call it before pwapp first uses them (before `install`); a bad value exits with one line.
    """
    global _current
    _current = load(**overrides)
    return _current


def get_settings() -> Settings:
    """The current settings, read from the environment at the first call."""
    return _current or configure()


class _CurrentSettings:
    """Reads as the current `Settings` (`settings.base_url`), loading them at first use."""

    def __getattr__(self, name: str) -> object:
        return getattr(get_settings(), name)

    def __repr__(self) -> str:
        return repr(get_settings())


settings = _CurrentSettings()
