"""Rate limits kept in the worker's memory (a token bucket per key), so a flood of requests costs no
database write: each gunicorn worker holds its own buckets, so the limit a client meets is per worker."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` requests a second per key, `burst` at once; `take` answers 0 (go ahead) or the seconds to wait."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 10000:  # forget keys that have refilled: they start full anyway
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.burst}
            return (1.0 - tokens) / self.rate


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
