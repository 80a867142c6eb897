"""Outside servers (PostgreSQL, Redis) for tests: optional for a developer, required in CI."""

import os

import pytest

REQUIRE_SERVICES = os.environ.get("PWAPP_TEST_REQUIRE_SERVICES") == "1"


def service_url(variable: str) -> str:
    """The URL of an outside service for a test; skip when unset, but fail when CI requires it."""
    url = os.environ.get(variable, "")
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail(f"{variable} is required by PWAPP_TEST_REQUIRE_SERVICES=1 but not set")
        pytest.skip(f"{variable} is not set: tests against that server are skipped")
    return url
