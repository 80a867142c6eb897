"""In-process storage for `limits`' moving-window throttles, used when there is no Redis.

limits' own MemoryStorage rescans every key it has ever seen 100 times a second while hits
arrive, and never forgets a key: a spray of made-up addresses slowed every request down
(the scan holds the GIL). Here each key keeps at most `limit` timestamps, pruned when it is
touched, and keys idle for longer than the longest window go in a sweep once a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from limits.storage import MovingWindowSupport, Storage

SWEEP_SECONDS = 60.0


class InProcessStorage(Storage, MovingWindowSupport):
    """Per key: the times of its latest hits, newest first."""

    STORAGE_SCHEME = None  # built directly by pwapp.security.throttle, not from a URI

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.clock = clock
        self.hits: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        self.longest_window = 0.0
        self.next_sweep = clock() + SWEEP_SECONDS

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        with self.lock:
            self._sweep(now, expiry)
            hits = self.hits.setdefault(key, [])
            if len(hits) > limit - amount and hits[limit - amount] >= now - expiry:
                return False
            hits[:0] = [now] * amount
            del hits[limit:]  # older hits can no longer decide anything
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(time of the oldest hit still in the window, hits in the window)."""
        now = self.clock()
        with self.lock:
            recent = [t for t in self.hits.get(key, ()) if t >= now - expiry]
        return (recent[-1], len(recent)) if recent else (now, 0)

    def clear(self, key: str) -> None:
        with self.lock:
            self.hits.pop(key, None)

    def reset(self) -> int:
        with self.lock:
            count = len(self.hits)
            self.hits.clear()
        return count

    def check(self) -> bool:
        return True

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("moving windows only")

    def get(self, key: str) -> int:
        raise NotImplementedError("moving windows only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("moving windows only")

    def _sweep(self, now: float, expiry: int) -> None:
        """Drop keys whose newest hit is older than every window (the caller holds the lock)."""
        self.longest_window = max(self.longest_window, expiry)
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_SECONDS
        cutoff = now - self.longest_window
        self.hits = {key: hits for key, hits in self.hits.items() if hits and hits[0] >= cutoff}
