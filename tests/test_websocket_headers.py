"""What Reflex's event socket is handed: no header of it works as a credential (it lands in the state store)."""

from __future__ import annotations

import asyncio

from pwapp.security.tokens import digest, new_token, sign_reset
from pwapp.settings import settings
from pwapp.state.base import AuthState
from pwapp.web.cookies import binding_cookie, reset_cookie, session_cookie
from pwapp.web.middleware import credential_free_events, credential_free_headers
from tests.test_states import app_db, connect, make_user, run, scripts, signed_in_cookie  # noqa: F401

SESSION, BINDING = new_token(), new_token()
SECRET = new_token()
RESET = sign_reset(settings.secret_key, 42, SECRET)
OTHER = [(b"host", b"localhost:3000"), (b"origin", b"http://localhost:3000"), (b"user-agent", b"Mozilla/5.0 (X11)")]


def cookie_header(*pairs: str) -> tuple[bytes, bytes]:
    return b"cookie", "; ".join(pairs).encode()


def browser_headers() -> list[tuple[bytes, bytes]]:
    cookies = cookie_header(
        "theme=dark", f"{session_cookie()}={SESSION}", f"{binding_cookie()}={BINDING}", f"{reset_cookie()}={RESET}",
        'prefs={"a": 1}',
    )
    return [*OTHER[:2], cookies, (b"Authorization", f"Bearer {SESSION}".encode()), (b"proxy-authorization", b"Basic eDp5"), OTHER[2]]


def test_credentials_become_digests_and_references_and_nothing_else_changes():
    seen = credential_free_headers(browser_headers())
    assert seen == [*OTHER[:2], cookie_header(
        "theme=dark", f"{session_cookie()}={digest(SESSION)}", f"{binding_cookie()}={digest(BINDING)}",
        f"{reset_cookie()}=42.{digest(SECRET)}", 'prefs={"a": 1}',
    ), OTHER[2]]
    text = repr(seen)
    assert SESSION not in text and BINDING not in text and RESET not in text and SECRET not in text


def test_a_cookie_that_is_no_credential_of_ours_is_dropped_not_kept():
    forged = sign_reset("another site's key, long enough!!", 42, SECRET)
    headers = [cookie_header(f"{binding_cookie()}=short", f"{reset_cookie()}={forged}", "theme=dark")]
    assert credential_free_headers(headers) == [cookie_header("theme=dark")]
    assert credential_free_headers([cookie_header(f"{reset_cookie()}=%FF%FE")]) == [(b"cookie", b"")]


def test_both_spellings_of_a_cookie_name_are_covered():
    bare = session_cookie().removeprefix("__Host-")
    headers = [cookie_header(f"{bare}={SESSION}", f"__Host-{bare}={SESSION}")]
    assert credential_free_headers(headers) == [cookie_header(f"{bare}={digest(SESSION)}", f"__Host-{bare}={digest(SESSION)}")]


def handed(scope: dict) -> dict:
    """The scope the inner app receives from credential_free_events."""
    got = {}

    async def inner(scope, receive, send):
        got.update(scope)

    asyncio.run(credential_free_events(inner)(scope, None, None))
    return got


def test_the_socket_gets_clean_headers_and_http_requests_pass_untouched():
    socket = {"type": "websocket", "path": "/_event/", "headers": browser_headers()}
    assert handed(socket)["headers"] == credential_free_headers(browser_headers())
    assert socket["headers"] == browser_headers()  # the server's own scope is not changed in place
    request = {"type": "http", "path": "/auth/session", "headers": browser_headers()}
    assert handed(request) == request


async def test_a_digest_copied_from_the_state_store_signs_no_one_in():
    user = make_user("dev@example.org")
    token = signed_in_cookie(user).partition("=")[2]
    _, state = connect(AuthState, cookie=f"{session_cookie()}={token}", path="/account")
    assert "/auth/login" not in scripts(await run(AuthState.require_login, state))
    _, state = connect(AuthState, cookie=f"{session_cookie()}={digest(token)}", path="/account")
    assert "/auth/login?next=/account" in scripts(await run(AuthState.require_login, state))
