"""The standalone app: pwapp installed on an app of its own, with `/` as its home page."""

import gc

import pwapp.models  # noqa: F401  (registers the tables for migrations)
from pwapp.pages.auth import register_home
from pwapp.wiring import SecuredApp, install

app = install(SecuredApp())
register_home(app)


@app.register_lifespan_task
async def freeze_startup_objects():
    """Exempt what start-up loaded (~130k objects: Reflex, the compiled app) from garbage
    collection: a full collection took ~70 ms of GIL-held CPU and now scans only newer objects."""
    gc.freeze()
