"""Reflex configuration, derived from pwapp's own settings."""

import os
from pathlib import Path

import reflex as rx

from pwapp.settings import settings

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")
# Reflex's Granian server starts this many worker processes (several only with Redis and PostgreSQL).
os.environ["GRANIAN_WORKERS"] = str(settings.workers)
# The websocket's headers reach the state store only after pwapp.web.middleware.credential_free_events
# has replaced every credential in them. Redis: lock longer than the slowest event (an argon2 hash
# and its transaction); an idle tab's state is kept one hour.
STATE_STORE = (
    {"state_manager_mode": "redis", "redis_url": settings.redis_url, "redis_lock_expiration": 5000,
     "redis_token_expiration": 3600}
    if settings.redis_url
    else {"state_manager_mode": "memory"}
)

config = rx.Config(
    app_name="pwapp",
    telemetry_enabled=False,
    db_url=settings.database_url,
    **STATE_STORE,
    trusted_proxy_hops=settings.trusted_proxy_hops,
    cors_allowed_origins=settings.allowed_origins,
    bun_path=Path(os.environ.get("REFLEX_BUN_PATH", ROOT / ".tools/node_modules/.bin/bun")),
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="inherit", accent_color="indigo"))],
    show_built_with_reflex=False,
)
