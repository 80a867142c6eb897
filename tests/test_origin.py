"""The same-origin check that guards the cookie-setting routes."""

import pytest
from starlette.datastructures import Headers

from pwapp.settings import settings
from pwapp.web.origin import is_same_origin


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"sec-fetch-site": "same-origin"}, True),
        ({"sec-fetch-site": "cross-site"}, False),
        ({"sec-fetch-site": "same-site"}, False),
        ({"sec-fetch-site": "none"}, False),
        ({"origin": "https://evil.example"}, False),
        ({"origin": "null"}, False),
        ({"sec-fetch-site": "cross-site", "origin": settings.base_url}, False),
        ({"origin": settings.base_url}, True),
        ({}, True),
    ],
)
def test_only_this_sites_pages_pass(headers, expected):
    assert is_same_origin(Headers(headers)) is expected


def test_a_navigation_the_user_started_passes_only_when_allowed():
    headers = Headers({"sec-fetch-site": "none"})
    assert is_same_origin(headers, allow_user_started=True) is True
    assert is_same_origin(headers) is False
