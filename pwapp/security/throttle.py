"""Rate limits on guessable actions, backed by `limits` (memory, or Redis when configured)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pwapp.security.moving_window import InProcessStorage
from pwapp.settings import settings


class Throttled(Exception):
    """Too many attempts; `retry_after` is in whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


@lru_cache(maxsize=1)
def limiter() -> MovingWindowRateLimiter:
    """The process-wide limiter: Redis when PWAPP_REDIS_URL is set, else in this process."""
    return MovingWindowRateLimiter(storage_from_string(settings.redis_url) if settings.redis_url else InProcessStorage())


@dataclass(frozen=True)
class Throttle:
    """A named limit such as "10/15 minutes", counted per key (an account, an IP)."""

    name: str
    rate: str

    @property
    def item(self) -> RateLimitItem:
        return parse(self.rate)

    def hit(self, key: str) -> bool:
        """Count one attempt for `key`, atomically; False (counting nothing) when over the limit."""
        return limiter().hit(self.item, self.name, key)

    def attempt(self, key: str) -> None:
        """Count one attempt for `key` before doing it; raise Throttled when over the limit."""
        if not self.hit(key):
            reset = limiter().get_window_stats(self.item, self.name, key).reset_time
            raise Throttled(max(1, math.ceil(reset - time.time())))

    def clear(self, key: str) -> None:
        """Forget `key`'s attempts (after a success that proves ownership)."""
        limiter().clear(self.item, self.name, key)


LOGIN_PER_ACCOUNT = Throttle("login-account", "10/15 minutes")
LOGIN_PER_IP = Throttle("login-ip", "100/15 minutes")
CURRENT_PASSWORD_PER_USER = Throttle("current-password", "5/15 minutes")
TWO_STEP_PER_ACCOUNT = Throttle("two-step-account", "10/15 minutes")
TWO_STEP_PER_IP = Throttle("two-step-ip", "100/15 minutes")
RESET_REQUEST_PER_EMAIL = Throttle("reset-email", "3/hour")
RESET_REQUEST_PER_IP = Throttle("reset-ip", "30/hour")
SIGN_UP_PER_EMAIL = Throttle("sign-up-email", "3/hour")  # sign-ups and new-link requests alike
SIGN_UP_PER_IP = Throttle("sign-up-ip", "50/hour")
