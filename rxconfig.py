"""Reflex configuration, derived from pwapp's own settings."""

import os
from pathlib import Path

import reflex as rx

from pwapp.settings import settings

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")

config = rx.Config(
    app_name="pwapp",
    telemetry_enabled=False,
    db_url=settings.database_url,
    # Router data (headers, cookies) lives in the state store: keep it in memory, never on disk.
    state_manager_mode="memory",
    trusted_proxy_hops=settings.trusted_proxy_hops,
    cors_allowed_origins=settings.allowed_origins,
    bun_path=Path(os.environ.get("REFLEX_BUN_PATH", ROOT / ".tools/node_modules/.bin/bun")),
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="inherit", accent_color="indigo"))],
    show_built_with_reflex=False,
)
