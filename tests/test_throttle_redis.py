"""The throttle shared through Redis: two app processes count the same attempts."""

import pytest
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pwapp.security import throttle
from tests.services import service_url


@pytest.fixture
def two_processes(monkeypatch):
    """Two limiters on one Redis, as two app processes would have."""
    url = service_url("PWAPP_TEST_REDIS_URL")
    limiters = [MovingWindowRateLimiter(storage_from_string(url)) for _ in range(2)]
    limiters[0].storage.reset()
    yield limiters
    limiters[0].storage.reset()


def test_attempts_counted_by_one_process_throttle_the_other(two_processes, monkeypatch):
    first, second = two_processes
    limit = throttle.LOGIN_PER_ACCOUNT
    monkeypatch.setattr(throttle, "limiter", lambda: first)
    for _ in range(10):
        limit.attempt("victim@example.org")
    monkeypatch.setattr(throttle, "limiter", lambda: second)
    with pytest.raises(throttle.Throttled) as caught:
        limit.attempt("victim@example.org")
    assert 0 < caught.value.retry_after <= 15 * 60
    limit.attempt("someone-else@example.org")
