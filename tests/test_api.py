"""The REST API (pwapp/web/api.py) over real HTTP semantics, on SQLite and PostgreSQL.

The app under test is a plain Starlette app holding the API and cookie routes, wrapped in the
same security-headers middleware as production, driven in-process with httpx's ASGI transport
(Reflex is not booted). Services run in real worker threads (`asyncio.to_thread`).

Database: `pwapp.db.engine()` is an lru_cache'd process-wide engine built from
PWAPP_DATABASE_URL. Each test gets the `engine` fixture from conftest.py (a fresh SQLite file,
and a fresh PostgreSQL schema when PWAPP_TEST_POSTGRES_URL is set) and monkeypatches
`pwapp.db.engine` to return it, so `pwapp.db.session()` - what the API uses - talks to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session
from starlette.applications import Starlette

import pwapp.db
from pwapp.db import utcnow
from pwapp.models import PasswordReset
from pwapp.models.outbox import DISCARDED, PENDING
from pwapp.services import passwords, signup
from pwapp.services.errors import (
    EmailNotVerified,
    EmailTaken,
    IncorrectCurrentPassword,
    InvalidCredentials,
    InvalidEmail,
    NotAuthenticated,
    PasswordsDoNotMatch,
    ResetLinkExpired,
    ResetLinkInvalid,
    ResetLinkStale,
    ResetLinkSuperseded,
    ResetLinkUsed,
    SamePassword,
    WrongSignUpPassword,
)
from pwapp.settings import settings
from pwapp.web import api, cookies
from pwapp.web.middleware import security_headers
from tests.factories import ALICE, LINK_PREFIX, NEW, OLD, RESET_LINK, mails, newest_link, newest_verify_link
from tests.factories import BOB as OTHER

MB = 1024 * 1024


# --- fixtures and helpers -------------------------------------------------------------------


def build_app():
    """What pwapp.py mounts (API + cookie routes), wrapped like production."""
    return security_headers(Starlette(routes=cookies.http_routes() + api.http_routes()))


@pytest.fixture
def app(engine, monkeypatch):
    monkeypatch.setattr(pwapp.db, "engine", lambda: engine)
    return build_app()


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def login(client, email: str = ALICE, password: str = OLD) -> str:
    r = await client.post("/api/login/", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def is_live(client, token: str) -> bool:
    """Whether `token` still authenticates (probed with an empty change, which changes nothing)."""
    r = await client.put("/change-password/", json={"current_password": "", "new_password": ""}, headers=bearer(token))
    assert r.status_code in (400, 401), r.text
    return r.status_code == 400


async def request_link(client, engine, email: str = ALICE) -> str:
    r = await client.post("/reset-password/", json={"email": email})
    assert r.status_code == 200, r.text
    return newest_link(engine, email)


def assert_unauthorized(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == {"detail": NotAuthenticated.message}
    assert r.headers["www-authenticate"].startswith("Bearer")


def errors(r: httpx.Response, status: int = 400) -> dict[str, list[str]]:
    assert r.status_code == status, r.text
    return r.json()["errors"]


# --- log in and log out ---------------------------------------------------------------------


async def test_login_returns_a_token_and_its_expiry(client, alice):
    r = await client.post("/api/login/", json={"email": "  ALICE@example.org", "password": OLD})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.tzinfo is not None
    assert timedelta(hours=settings.session_max_hours - 1) < expires - utcnow() <= timedelta(
        hours=settings.session_max_hours
    )
    # The middleware's headers are on API answers too, and tokens are never cached.
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert await is_live(client, body["token"])


@pytest.mark.parametrize("email, password", [(ALICE, NEW), ("nobody@example.org", OLD)])
async def test_wrong_password_and_unknown_email_answer_alike(client, alice, email, password):
    r = await client.post("/api/login/", json={"email": email, "password": password})
    assert errors(r) == {"form": [InvalidCredentials.message]}


async def test_logout_kills_the_token(client, alice):
    token = await login(client)
    other = await login(client)
    r = await client.post("/api/logout/", headers=bearer(token))
    assert r.status_code == 204
    assert r.content == b""
    assert_unauthorized(await client.post("/api/logout/", headers=bearer(token)))
    assert_unauthorized(
        await client.put("/change-password/", json={"current_password": OLD, "new_password": NEW}, headers=bearer(token))
    )
    assert await is_live(client, other), "only the token that logged out dies"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic YWxpY2U6cHc="}, bearer("nope")],
    ids=["none", "empty", "no-token", "basic", "unknown"],
)
async def test_missing_or_unknown_token_is_401(client, alice, headers):
    assert_unauthorized(await client.post("/api/logout/", headers=headers))
    assert_unauthorized(
        await client.put("/change-password/", json={"current_password": OLD, "new_password": NEW}, headers=headers)
    )


async def test_too_many_failed_logins_answer_429_with_retry_after(client, alice):
    for _ in range(10):
        r = await client.post("/api/login/", json={"email": ALICE, "password": "wrong"})
        assert r.status_code == 400
    # Even the right password is refused while throttled.
    r = await client.post("/api/login/", json={"email": ALICE, "password": OLD})
    assert r.status_code == 429
    assert r.json()["detail"].startswith("Too many attempts. Try again in ")
    assert 1 <= int(r.headers["retry-after"]) <= 15 * 60


# --- change password -----------------------------------------------------------------------


async def test_change_password_rotates_the_token_and_revokes_other_sessions(client, alice):
    laptop = await login(client)
    phone = await login(client)
    r = await client.put(
        "/change-password/",
        json={"current_password": OLD, "new_password": NEW, "confirm_password": NEW},
        headers=bearer(laptop),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["detail"] == "Password changed successfully."
    assert datetime.fromisoformat(body["expires_at"]) > utcnow()
    fresh = body["token"]
    assert fresh not in (laptop, phone)
    assert_unauthorized(await client.post("/api/logout/", headers=bearer(laptop)))
    assert_unauthorized(await client.post("/api/logout/", headers=bearer(phone)))
    assert await is_live(client, fresh)
    # The new password logs in, the old one does not.
    assert (await client.post("/api/login/", json={"email": ALICE, "password": OLD})).status_code == 400
    await login(client, password=NEW)
    assert (await client.post("/api/logout/", headers=bearer(fresh))).status_code == 204


async def test_change_password_can_keep_other_sessions(client, engine, alice):
    laptop = await login(client)
    phone = await login(client)
    r = await client.put(
        "/change-password/",
        json={"current_password": OLD, "new_password": NEW, "sign_out_others": False},
        headers=bearer(laptop),
    )
    assert r.status_code == 200, r.text
    assert not await is_live(client, laptop), "the caller's old token always dies"
    assert await is_live(client, phone)
    assert await is_live(client, r.json()["token"])
    (notice,) = mails(engine, template="password_changed")
    assert notice.status == PENDING and OLD not in notice.text() and NEW not in notice.text()


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"current_password": "wrong", "new_password": NEW}, {"current_password": [IncorrectCurrentPassword.message]}),
        ({"current_password": OLD, "new_password": OLD}, {"new_password": [SamePassword.message]}),
        (
            {"current_password": OLD, "new_password": NEW, "confirm_password": OTHER},
            {"confirm_password": [PasswordsDoNotMatch.message]},
        ),
        ({"current_password": "", "new_password": NEW}, {"current_password": ["Enter your current password."]}),
    ],
    ids=["wrong-current", "same", "mismatch", "empty-current"],
)
async def test_change_password_field_errors_use_the_services_words(client, alice, body, expected):
    token = await login(client)
    assert errors(await client.put("/change-password/", json=body, headers=bearer(token))) == expected
    assert await is_live(client, token), "a refused change rotates nothing"


async def test_change_password_weak_password_lists_the_policy_reasons(client, alice):
    token = await login(client)
    r = await client.put("/change-password/", json={"current_password": OLD, "new_password": "short"}, headers=bearer(token))
    found = errors(r)
    assert list(found) == ["new_password"]
    assert found["new_password"][0] == f"Use at least {settings.password_min_length} characters (you have 5)."


async def test_guessing_the_current_password_is_throttled(client, alice):
    token = await login(client)
    for _ in range(5):
        r = await client.put("/change-password/", json={"current_password": "guess", "new_password": NEW}, headers=bearer(token))
        assert r.status_code == 400
    r = await client.put("/change-password/", json={"current_password": OLD, "new_password": NEW}, headers=bearer(token))
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert (await client.post("/api/logout/", headers=bearer(token))).status_code == 204, "still signed in"


# --- forgot password -----------------------------------------------------------------------


async def test_reset_request_answers_alike_for_known_unknown_and_throttled(client, engine, alice):
    answers = []
    for email in (ALICE, "nobody@example.org", ALICE, ALICE, ALICE):  # the last one is over 3/hour
        r = await client.post("/reset-password/", json={"email": email})
        answers.append((r.status_code, r.content, r.headers["content-type"]))
    assert len(set(answers)) == 1
    status, content, _ = answers[0]
    assert status == 200
    assert json.loads(content) == {
        "detail": "If an account exists for that address, we've sent a link to reset its password."
    }
    assert len(mails(engine, template="password_reset", status=PENDING)) == 3, "the throttled request sent nothing"
    (decoy,) = mails(engine, template="password_reset", status=DISCARDED)
    assert decoy.recipient == "nobody@example.org"


async def test_reset_request_refuses_a_malformed_address(client, alice):
    r = await client.post("/reset-password/", json={"email": "not an address"})
    assert errors(r) == {"email": [InvalidEmail.message]}


@pytest.mark.parametrize(
    "spoof",
    [
        {"Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
        {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example;proto=https"},
    ],
    ids=["host", "x-forwarded-host", "all"],
)
async def test_spoofed_host_headers_never_change_the_emailed_link(client, engine, alice, spoof):
    r = await client.post("/reset-password/", json={"email": ALICE}, headers=spoof)
    assert r.status_code == 200
    (mail,) = mails(engine, template="password_reset")
    assert "evil.example" not in mail.text() and "evil.example" not in mail.html()
    (token,) = RESET_LINK.findall(mail.text())
    assert LINK_PREFIX + token in mail.text()
    assert LINK_PREFIX.replace("&", "&amp;") in mail.html()


# --- reset password ------------------------------------------------------------------------


async def test_reset_link_works_once_and_signs_everyone_out(client, engine, alice):
    before = await login(client)
    token = await request_link(client, engine)
    r = await client.post(
        "/reset-password-confirm/",
        json={"uid": "MQ", "token": token, "new_password": NEW, "confirm_password": NEW},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"detail": "Password reset successful."}
    assert_unauthorized(await client.post("/api/logout/", headers=bearer(before)))
    await login(client, password=NEW)
    assert (await client.post("/api/login/", json={"email": ALICE, "password": OLD})).status_code == 400
    again = await client.post("/reset-password-confirm/", json={"token": token, "new_password": OTHER})
    assert errors(again) == {"token": [ResetLinkUsed.message]}
    assert again.json()["reason"] == "used"
    assert len(mails(engine, template="password_reset_done")) == 1


async def test_concurrent_confirms_of_one_link_succeed_once(client, engine, alice, monkeypatch):
    token = await request_link(client, engine)
    # Hold the confirms in their worker threads until `racing` of them are inside the service,
    # so they really race (asyncio's default executor has min(32, cpus + 4) threads).
    racing = min(8, 32, (os.cpu_count() or 1) + 4)
    lock, all_in = threading.Lock(), threading.Event()
    threads: set[int] = set()
    real = passwords.reset_password

    def raced(*args, **kwargs):
        with lock:
            threads.add(threading.get_ident())
            if len(threads) >= racing:
                all_in.set()
        assert all_in.wait(timeout=20), "the confirms never ran side by side"
        return real(*args, **kwargs)

    monkeypatch.setattr(passwords, "reset_password", raced)
    answers = await asyncio.gather(
        *(
            client.post("/reset-password-confirm/", json={"token": token, "new_password": f"{NEW}-{i}"})
            for i in range(8)
        )
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [400] * 7, [r.text for r in answers]
    for r in answers:
        if r.status_code == 400:
            assert r.json() == {"errors": {"token": [ResetLinkUsed.message]}, "reason": "used"}
    assert len(threads) >= racing, "the confirms ran in parallel threads"
    (winner,) = [i for i, r in enumerate(answers) if r.status_code == 200]
    await login(client, password=f"{NEW}-{winner}")
    assert len(mails(engine, template="password_reset_done")) == 1


async def test_a_refused_new_password_does_not_use_up_the_link(client, engine, alice):
    token = await request_link(client, engine)
    r = await client.post("/reset-password-confirm/", json={"token": token, "new_password": NEW, "confirm_password": OTHER})
    assert errors(r) == {"confirm_password": [PasswordsDoNotMatch.message]}
    r = await client.post("/reset-password-confirm/", json={"token": token, "new_password": "password"})
    assert list(errors(r)) == ["new_password"]
    r = await client.post("/reset-password-confirm/", json={"token": token, "new_password": NEW})
    assert r.status_code == 200, r.text


async def test_reset_link_errors(client, engine, alice):
    # invalid
    for bad in ("garbage", "", "x" * 600):
        r = await client.post("/reset-password-confirm/", json={"token": bad, "new_password": NEW})
        assert errors(r) == {"token": [ResetLinkInvalid.message]}
        assert r.json()["reason"] == "invalid"
    # superseded by a newer link
    first = await request_link(client, engine)
    second = await request_link(client, engine)
    r = await client.post("/reset-password-confirm/", json={"token": first, "new_password": NEW})
    assert errors(r) == {"token": [ResetLinkSuperseded.message]}
    assert r.json()["reason"] == "superseded"
    # expired
    with Session(engine) as s:
        s.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    r = await client.post("/reset-password-confirm/", json={"token": second, "new_password": NEW})
    assert errors(r) == {"token": [ResetLinkExpired.message]}
    assert r.json()["reason"] == "expired"


async def test_a_password_change_makes_an_older_link_stale(client, engine, alice):
    link = await request_link(client, engine)
    session = await login(client)
    r = await client.put("/change-password/", json={"current_password": OLD, "new_password": NEW}, headers=bearer(session))
    assert r.status_code == 200
    r = await client.post("/reset-password-confirm/", json={"token": link, "new_password": OTHER})
    assert errors(r) == {"token": [ResetLinkStale.message]}


# --- malformed requests --------------------------------------------------------------------

ROUTES = [
    ("POST", "/api/login/", {"email": ALICE, "password": OLD}),
    ("PUT", "/change-password/", {"current_password": OLD, "new_password": NEW}),
    ("POST", "/reset-password/", {"email": ALICE}),
    ("POST", "/reset-password-confirm/", {"token": "t", "new_password": NEW}),
    ("POST", "/api/register/", {"email": "carol@example.org", "new_password": NEW}),
    ("POST", "/api/verify-email/", {"token": "t", "password": "p"}),
]
ROUTE_IDS = [path for _, path, _ in ROUTES]


@pytest.fixture
async def auth(client, alice) -> dict[str, str]:
    """A live bearer header (needed to get past auth on /change-password/)."""
    return bearer(await login(client))


def _first_field(body: dict) -> str:
    return next(iter(body))


@pytest.mark.parametrize("method, path, good", ROUTES, ids=ROUTE_IDS)
async def test_oversized_bodies_are_413(client, auth, method, path, good):
    big = {**good, "padding": "x" * MB}
    r = await client.request(method, path, json=big, headers=auth)
    assert r.status_code == 413
    assert r.json() == {"detail": "Request body must be at most 64 KiB."}

    async def chunks():  # no Content-Length: the cap must count streamed bytes
        yield b'{"padding": "'
        for _ in range(16):
            yield b"x" * (64 * 1024)
        yield b'"}'

    r = await client.request(method, path, content=chunks(), headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413
    # A 1 MB string is a 1 MB body: the body cap answers first.
    r = await client.request(method, path, json={**good, _first_field(good): "x" * MB}, headers=auth)
    assert r.status_code == 413


@pytest.mark.parametrize("method, path, good", ROUTES, ids=ROUTE_IDS)
async def test_malformed_bodies_are_400(client, auth, method, path, good):
    field = _first_field(good)
    cases = [
        (b"{not json", "body"),
        (b"", "body"),
        (b'{"email": "\xff\xfe"}', "body"),  # not UTF-8
        (b"[" * 30_000 + b"]" * 30_000, "body"),  # nested past the recursion limit
        (json.dumps([good]).encode(), "body"),
        (b'"a string"', "body"),
        (b"null", "body"),
    ]
    for raw, where in cases:
        r = await client.request(method, path, content=raw, headers={**auth, "Content-Type": "application/json"})
        if where is None:
            assert r.status_code in (400, 413), r.text
            continue
        assert list(errors(r)) == [where], raw[:40]
    # a missing field, each one
    for name in good:
        partial = {k: v for k, v in good.items() if k != name}
        r = await client.request(method, path, json=partial, headers=auth)
        assert errors(r) == {name: ["This field is required."]}
    # wrong types
    for wrong in (None, 1, 1.5, True, [], {}, ["x"]):
        r = await client.request(method, path, json={**good, field: wrong}, headers=auth)
        assert errors(r) == {field: ["Must be a string."]}
    # too long, NUL, lone surrogate
    r = await client.request(method, path, json={**good, field: "x" * 4097}, headers=auth)
    assert errors(r) == {field: ["Must be at most 4096 characters."]}
    r = await client.request(method, path, json={**good, field: "a\x00b"}, headers=auth)
    assert errors(r) == {field: ["Must be valid Unicode text without NUL characters."]}
    raw = json.dumps(good)[:-1] + f', "{field}": "\\ud800"}}'
    r = await client.request(method, path, content=raw, headers={**auth, "Content-Type": "application/json"})
    assert errors(r) == {field: ["Must be valid Unicode text without NUL characters."]}


async def test_every_field_problem_is_reported_at_once(client, alice):
    r = await client.post("/api/login/", json={"password": 7})
    assert errors(r) == {"email": ["This field is required."], "password": ["Must be a string."]}
    r = await client.post("/reset-password-confirm/", json={"token": "t" * 5000, "new_password": NEW, "confirm_password": 1})
    assert errors(r) == {"token": ["Must be at most 4096 characters."], "confirm_password": ["Must be a string."]}


async def test_optional_fields_are_type_checked_and_extra_fields_ignored(client, auth):
    base = {"current_password": "wrong", "new_password": NEW}
    r = await client.put("/change-password/", json={**base, "sign_out_others": "yes"}, headers=auth)
    assert errors(r) == {"sign_out_others": ["Must be true or false."]}
    r = await client.put("/change-password/", json={**base, "confirm_password": None}, headers=auth)
    assert errors(r) == {"confirm_password": ["Must be a string."]}
    r = await client.put("/change-password/", json={**base, "extra": {"any": ["thing"]}}, headers=auth)
    assert errors(r) == {"current_password": [IncorrectCurrentPassword.message]}


@pytest.mark.parametrize("method, path, good", ROUTES, ids=ROUTE_IDS)
async def test_non_json_bodies_are_415(client, auth, method, path, good):
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "text/json"):
        headers = dict(auth)
        if content_type:
            headers["Content-Type"] = content_type
        r = await client.request(method, path, content=json.dumps(good), headers=headers)
        assert r.status_code == 415, content_type
        assert r.json() == {"detail": "Send the request body as application/json."}


async def test_json_with_a_charset_is_json(client, alice):
    r = await client.post(
        "/api/login/",
        content=json.dumps({"email": ALICE, "password": OLD}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200


async def test_bad_content_length_is_400(app, alice):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/login/",
        "raw_path": b"/api/login/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"12abc")],
        "client": ("203.0.113.7", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("GET", "/api/login/", "POST"),
        ("DELETE", "/api/logout/", "POST"),
        ("POST", "/change-password/", "PUT"),
        ("GET", "/reset-password/", "POST"),
        ("PATCH", "/reset-password-confirm/", "POST"),
        ("POST", "/api/openapi.json", "GET"),
    ],
)
async def test_wrong_methods_are_405(client, method, path, allowed):
    r = await client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allowed
    assert r.json() == {"detail": "Method not allowed."}


async def test_unexpected_errors_are_a_bare_500_and_logged_without_input(client, alice, monkeypatch, caplog):
    def boom(db, email, client):
        raise RuntimeError(email)  # the message holds input: it must not reach the answer or the log

    monkeypatch.setattr(passwords, "request_password_reset", boom)
    with caplog.at_level(logging.ERROR, logger="pwapp.web.api"):
        r = await client.post("/reset-password/", json={"email": "leak@example.org"})
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal error"}
    assert "leak" not in r.text and "Traceback" not in r.text
    (record,) = caplog.records
    assert "RuntimeError" in record.getMessage() and "/reset-password/" in record.getMessage()
    assert "leak@example.org" not in caplog.text


# --- the OpenAPI document ------------------------------------------------------------------


async def test_openapi_document_describes_every_endpoint(client):
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    served = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routed = {(m, p) for p, handlers in api.ENDPOINTS.items() for m in handlers}
    assert served == routed
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert "405" in codes
            if "requestBody" in op:
                assert {"400", "413", "415"} <= codes and any(c.startswith("2") for c in codes), (method, path)
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                assert schema["additionalProperties"] is True
                assert schema["required"]
                for name, prop in schema["properties"].items():
                    if prop.get("type") == "string":
                        assert prop["maxLength"] == 4096, (path, name)
            if "security" in op:
                assert op["security"] == [{"bearerAuth": []}]
                assert "401" in codes
                assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
            if "429" in codes:
                assert "Retry-After" in op["responses"]["429"]["headers"]
    assert "204" in doc["paths"]["/api/logout/"]["post"]["responses"]
    assert "429" in doc["paths"]["/api/login/"]["post"]["responses"]
    assert "429" in doc["paths"]["/change-password/"]["put"]["responses"]


async def test_the_document_describes_the_validation_the_api_does(client, auth):
    """Every documented request body's required properties are exactly the ones refused as
    missing, and its typed properties exactly the ones type-checked: a field added to a model
    shows up in both, or this fails."""
    doc = (await client.get("/api/openapi.json")).json()
    paths = doc["paths"].items()
    bodies = [(m, p, op["requestBody"]) for p, ops in paths for m, op in ops.items() if "requestBody" in op]
    assert len(bodies) == 7
    for method, path, body in bodies:
        schema = body["content"]["application/json"]["schema"]
        r = await client.request(method, path, json={}, headers=auth)
        assert set(errors(r)) == set(schema["required"]), path
        typed = {name for name, prop in schema["properties"].items() if "type" in prop}
        r = await client.request(method, path, json=dict.fromkeys(schema["properties"], []), headers=auth)
        assert set(errors(r)) == typed, path


# --- sign-up and address confirmation -------------------------------------------------------


async def test_register_answers_alike_for_a_new_and_a_taken_address(client, engine, alice):
    answers = [await client.post("/api/register/", json={"email": email, "new_password": NEW})
               for email in ("carol@example.org", ALICE)]
    assert [(r.status_code, r.json()) for r in answers] == [(202, {"detail": signup.SIGN_UP_REQUESTED})] * 2
    assert answers[0].headers.keys() == answers[1].headers.keys()
    assert [m.template for m in mails(engine)] == ["verify_email", "sign_up_attempt"]
    r = await client.post("/api/login/", json={"email": "carol@example.org", "password": NEW})
    assert (r.status_code, r.json()) == (400, {"errors": {"form": [EmailNotVerified.message]}})


async def test_register_refuses_bad_fields_alike_for_every_address(client, alice):
    for email in ("carol@example.org", ALICE):
        r = await client.post("/api/register/", json={"email": email, "new_password": "short", "confirm_password": "x"})
        assert r.status_code == 400 and set(r.json()["errors"]) == {"new_password", "confirm_password"}


async def test_verify_email_answers_a_token_once(client, engine):
    await client.post("/api/register/", json={"email": "carol@example.org", "new_password": NEW})
    token = newest_verify_link(engine, "carol@example.org")
    r = await client.post("/api/verify-email/", json={"token": token, "password": OLD})
    assert (r.status_code, r.json()) == (400, {"errors": {"password": [WrongSignUpPassword.message]}})
    r = await client.post("/api/verify-email/", json={"token": token, "password": NEW})
    assert r.status_code == 200, r.text
    r = await client.post("/api/logout/", headers=bearer(r.json()["token"]))
    assert r.status_code == 204
    r = await client.post("/api/verify-email/", json={"token": token, "password": NEW})
    assert r.status_code == 400 and r.json()["reason"] == "used" and "token" in r.json()["errors"]
    r = await client.post("/api/verify-email/", json={"token": "garbage", "password": NEW})
    assert r.status_code == 400 and r.json()["reason"] == "invalid"
    await login(client, "carol@example.org", NEW)


async def test_register_without_verification_answers_a_token_or_says_taken(client, alice, without_verification):
    r = await client.post("/api/register/", json={"email": "carol@example.org", "new_password": NEW})
    assert r.status_code == 201 and r.json()["token"]
    r = await client.post("/api/register/", json={"email": ALICE, "new_password": NEW})
    assert (r.status_code, r.json()) == (400, {"errors": {"email": [EmailTaken.message]}})
