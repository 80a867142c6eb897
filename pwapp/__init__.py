"""pwapp: change, forgot and reset password, register, log in and sessions for a Reflex app.

The public API (importing `pwapp` loads nothing else; each name is imported at first use):

- `install(app, prefix="/auth", account_prefix="/account", settings=None, product_name=None,
  layout=None)`: add the pages, HTTP routes, middleware and worker to your `rx.App`, under your
  product's name and, optionally, your page layout.
- `configure(**overrides)` / `get_settings()`: the settings (`PWAPP_*` variables, with values
  given in code on top; call `configure` before `install`); `Settings`, `SettingsError`.
- `AuthState`: protect a page with `on_load=AuthState.require_login`; its state (or a subclass's)
  then has the signed-in `user_id` and `email`.
- `current_user_info(db, token_hash)` -> `UserInfo(id, email)` or None: the same, for your services
  (`token_hash`: the session cookie's SHA-256, `pwapp.web.cookies.session_hash_of(cookie_header)`).
- `hooks`: react to account events (`hooks.on(hooks.PasswordChanged)`…) and add password rules;
  `events`: the events' records.
"""

from importlib import import_module

_EXPORTS = {
    "install": "pwapp.wiring",
    "SecuredApp": "pwapp.wiring",
    "configure": "pwapp.settings",
    "get_settings": "pwapp.settings",
    "Settings": "pwapp.settings",
    "SettingsError": "pwapp.settings",
    "AuthState": "pwapp.state.base",
    "current_user_info": "pwapp.services.accounts",
    "UserInfo": "pwapp.services.accounts",
}
_MODULES = ("hooks", "events")
__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str) -> object:
    if name in _MODULES:
        return import_module(f"pwapp.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pwapp' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
