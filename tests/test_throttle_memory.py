"""The in-process throttle storage: limits' moving-window answers, and memory that stays bounded."""

import random

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from pwapp.security.moving_window import SWEEP_SECONDS, InProcessStorage


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_answers_like_limits_own_memory_storage():
    ours, theirs = MovingWindowRateLimiter(InProcessStorage()), MovingWindowRateLimiter(MemoryStorage())
    rates = [parse("3/hour"), parse("5/15 minutes"), parse("1/minute")]
    steps = random.Random(7)
    for _ in range(2000):
        item, key = steps.choice(rates), steps.choice(["a", "b", "c"])
        action = steps.choice(["hit", "hit", "hit", "test", "stats", "clear"])
        if action == "hit":
            assert ours.hit(item, key) == theirs.hit(item, key)
        elif action == "test":
            assert ours.test(item, key) == theirs.test(item, key)
        elif action == "stats":
            assert ours.get_window_stats(item, key).remaining == theirs.get_window_stats(item, key).remaining
        else:
            ours.clear(item, key)
            theirs.clear(item, key)


def test_hits_leave_the_window_as_time_passes():
    clock = Clock()
    limiter = MovingWindowRateLimiter(InProcessStorage(clock))
    item = parse("3/minute")
    for offset in (0, 20, 20):  # hits at 0, 20 and 40 s
        clock.now += offset
        assert limiter.hit(item, "k")
    assert not limiter.hit(item, "k")
    stats = limiter.get_window_stats(item, "k")
    assert stats.remaining == 0 and stats.reset_time == clock.now - 40 + 60  # when the oldest hit leaves
    clock.now += 21  # the first hit is now 61 s old
    assert limiter.hit(item, "k")
    assert not limiter.hit(item, "k")


def test_a_spray_of_distinct_keys_is_forgotten_once_its_window_has_passed():
    clock = Clock()
    storage = InProcessStorage(clock)
    limiter = MovingWindowRateLimiter(storage)
    item = parse("3/hour")
    for n in range(10_000):
        limiter.hit(item, f"made-up-{n}@example.org")
    assert len(storage.hits) == 10_000
    clock.now += 3600 + SWEEP_SECONDS
    limiter.hit(item, "fresh@example.org")
    assert list(storage.hits) == [item.key_for("fresh@example.org")]


def test_a_busy_key_keeps_no_more_hits_than_its_limit():
    storage = InProcessStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = parse("5/minute")
    for _ in range(1000):
        limiter.hit(item, "k")
    assert len(storage.hits[item.key_for("k")]) == 5
