"""Schemathesis against the served OpenAPI document: no input makes the API fail (5xx) or
answer outside its own description, on SQLite and PostgreSQL.

Every operation gets the document's examples, schemathesis' coverage cases (boundaries,
missing fields, wrong types, other methods and media types) and 25 generated examples, positive
and negative, derandomized so runs repeat. Operations that need a bearer token get a fresh,
live one for each case, and throttles are reset before each case, so generated bodies reach the
services instead of stopping at 401 or 429 (both are covered in test_api.py). The database is
wired as in test_api.py: `pwapp.db.engine` is monkeypatched to return the per-test `engine`.
GET /api/openapi.json itself is left out by schemathesis (it is the schema's own location).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

import pwapp.db
from pwapp.models import User
from pwapp.security.throttle import limiter
from pwapp.services.accounts import Client, create_session
from pwapp.web.openapi import spec
from tests.test_api import build_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# Loaded from the served document (the route needs no database). `schemathesis.pytest.from_fixture`
# would let a fixture build it, but it breaks on pytest 9 (it reads the removed `Function._nodeid`).
# Invalid input must be refused with one of the API's refusals; 413 is one of them (a negative
# case with several over-long strings can outgrow the 64 KiB body cap before any field is read).
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": ["400", "401", "405", "413", "415", "429"]}}}
)
schema = schemathesis.openapi.from_asgi("/api/openapi.json", build_app(), config=CONFIG)


@pytest.fixture
def app(engine, monkeypatch, alice):
    monkeypatch.setattr(pwapp.db, "engine", lambda: engine)
    return build_app()


@pytest.fixture
def fresh_token(engine, alice):
    """A new live API token for alice on every call (no password hashing: it is cheap)."""

    def make() -> str:
        with Session(engine, expire_on_commit=False) as s:
            _, token = create_session(s, s.get(User, alice.id), Client(ip="192.0.2.1", user_agent="fuzz"))
            s.commit()
        return token

    return make


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
def test_api_conforms_to_its_openapi_document(case, app, fresh_token):
    limiter().storage.reset()
    if case.operation.definition.raw.get("security"):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {fresh_token()}"}
    case.call_and_validate(app=app, checks=CHECKS)


def test_the_served_document_is_the_built_one():
    assert spec()["paths"].keys() == {
        "/api/login/",
        "/api/login/two-step/",
        "/api/logout/",
        "/api/register/",
        "/api/verify-email/",
        "/change-password/",
        "/reset-password/",
        "/reset-password-confirm/",
        "/api/openapi.json",
    }
