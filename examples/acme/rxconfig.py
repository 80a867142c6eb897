"""Acme's Reflex configuration: pwapp's settings decide the database and who may connect."""

import os
from pathlib import Path

import reflex as rx

import pwapp

settings = pwapp.get_settings()

config = rx.Config(
    app_name="acme",
    telemetry_enabled=False,
    db_url=settings.database_url,
    state_manager_mode="memory",  # pwapp's session cookie travels in the router headers: never on disk
    trusted_proxy_hops=settings.trusted_proxy_hops,
    cors_allowed_origins=settings.allowed_origins,
    bun_path=Path(os.environ.get("REFLEX_BUN_PATH", "bun")),
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="inherit", accent_color="grass"))],
    show_built_with_reflex=False,
)
