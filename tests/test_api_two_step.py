# ruff: noqa: F811  (the `app` and `client` fixtures of test_api.py are imported, then requested by name)
"""The REST log-in of a two-step account: POST /api/login/ answers a challenge, never a token;
POST /api/login/two-step/ completes it with a code (fixtures and helpers as in test_api.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
from sqlmodel import Session

from pwapp.db import utcnow
from pwapp.security import throttle
from pwapp.services import two_step
from pwapp.services.errors import ChallengeExpired, InvalidCode
from tests.factories import ALICE, CLIENT, OLD
from tests.test_api import app, bearer, client, errors, is_live  # noqa: F401  (fixtures)
from tests.test_two_step import enrol


def enrolled(engine, user) -> tuple[str, list[str]]:
    """Two-step on for `user`, confirmed with a code a minute old (so the current one is unused)."""
    with Session(engine, expire_on_commit=False) as s:
        return enrol(s, user, utcnow() - timedelta(seconds=60))


async def challenge_of(client) -> dict:
    r = await client.post("/api/login/", json={"email": ALICE, "password": OLD})
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_two_step_account_gets_a_challenge_and_a_code_gets_the_token(client, engine, alice):
    secret, _ = enrolled(engine, alice)
    body = await challenge_of(client)
    assert set(body) == {"challenge", "expires_at"}
    assert timedelta(0) < datetime.fromisoformat(body["expires_at"]) - utcnow() <= timedelta(minutes=5)
    assert not await is_live(client, body["challenge"])  # the challenge is no bearer token

    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    r = await client.post("/api/login/two-step/", json={"challenge": body["challenge"], "code": wrong})
    assert errors(r) == {"code": [InvalidCode.message]}

    r = await client.post("/api/login/two-step/", json={"challenge": body["challenge"], "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"token", "expires_at"}
    assert await is_live(client, r.json()["token"])

    again = await client.post("/api/login/two-step/", json={"challenge": body["challenge"], "code": wrong})
    assert errors(again) == {"challenge": [ChallengeExpired.message]}


async def test_a_recovery_code_completes_the_api_log_in_once(client, engine, alice):
    _, codes = enrolled(engine, alice)
    first = await challenge_of(client)
    r = await client.post("/api/login/two-step/", json={"challenge": first["challenge"], "code": codes[0]})
    assert r.status_code == 200, r.text
    second = await challenge_of(client)
    r = await client.post("/api/login/two-step/", json={"challenge": second["challenge"], "code": codes[0]})
    assert errors(r) == {"code": [InvalidCode.message]}


async def test_a_browsers_challenge_cannot_be_completed_through_the_api(client, engine, alice):
    secret, _ = enrolled(engine, alice)
    with Session(engine) as s:
        pending = two_step.log_in(s, ALICE, OLD, CLIENT).challenge
        s.commit()
    r = await client.post("/api/login/two-step/", json={"challenge": pending, "code": pyotp.TOTP(secret).now()})
    assert errors(r) == {"challenge": [ChallengeExpired.message]}


async def test_code_guesses_are_throttled_with_retry_after(client, engine, alice):
    enrolled(engine, alice)
    body = await challenge_of(client)
    for _ in range(throttle.TWO_STEP_PER_ACCOUNT.item.amount):
        r = await client.post("/api/login/two-step/", json={"challenge": body["challenge"], "code": "abcdef"})
        assert r.status_code == 400
    r = await client.post("/api/login/two-step/", json={"challenge": body["challenge"], "code": "abcdef"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_bad_bodies_are_refused_field_by_field(client, alice):
    r = await client.post("/api/login/two-step/", json={"code": 123456})
    assert set(errors(r)) == {"challenge", "code"}
    r = await client.post("/api/login/two-step/", content=b"[]", headers={"content-type": "application/json"})
    assert errors(r) == {"body": ["The request body must be a JSON object."]}


async def test_the_token_of_a_password_change_keeps_working_for_a_two_step_account(client, engine, alice):
    secret, _ = enrolled(engine, alice)
    body = await challenge_of(client)
    r = await client.post("/api/login/two-step/", json={"challenge": body["challenge"], "code": pyotp.TOTP(secret).now()})
    token = r.json()["token"]
    new = "Velvet-Canyon-Marble-2042?"
    r = await client.put("/change-password/", json={"current_password": OLD, "new_password": new}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert await is_live(client, r.json()["token"])
    r = await client.post("/api/login/", json={"email": ALICE, "password": new})
    assert set(r.json()) == {"challenge", "expires_at"}  # still two-step after the change
