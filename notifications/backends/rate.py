"""A per-second send limit (the provider's quota): shared by the threads of one process, or by
every process and machine through Redis."""

import logging
import threading
import time

logger = logging.getLogger(__name__)


class RateLimiter:
    """Spaces sends `1 / rate` seconds apart, whichever thread sends: each caller books the
    next free slot under a lock and sleeps outside it, so threads never queue on the lock.
    No burst: after an idle spell the next send goes at once, the one after waits its turn.

    It holds within one process. Several worker processes (or machines) each get their own
    limiter, so the configured rate is per process: split the provider's quota between them,
    or use `RedisRateLimiter`. Uses perf_counter, which test clocks leave alone, so a frozen
    clock never stalls it."""

    def __init__(self, rate: float):
        self.rate = rate
        self._next = time.perf_counter()
        self._lock = threading.Lock()

    def acquire(self, count: int = 1) -> float:
        """Wait until `count` sends fit in the rate; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = time.perf_counter()
            start = max(now, self._next)
            self._next = start + count / self.rate
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return wait


# Books the next free slot on Redis's own clock, so every process shares one schedule.
_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(start + tonumber(ARGV[1])), 'EX', 3600)
return tostring(start - now)
"""


class RedisRateLimiter:
    """The same spacing for every process and machine using one Redis key. If Redis cannot
    be reached the process falls back to its own limiter (sending slower beats not sending)."""

    def __init__(self, rate: float, url: str, key: str = "sms:rate"):
        import redis

        self.rate, self.key = rate, key
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._book = self._redis.register_script(_BOOK)
        self._local = RateLimiter(rate)

    def acquire(self, count: int = 1) -> float:
        if self.rate <= 0:
            return 0.0
        try:
            wait = float(self._book(keys=[self.key], args=[count / self.rate]))
        except Exception as exc:  # noqa: BLE001 - any Redis failure: limit locally instead
            logger.warning("SMS rate limit counted in this process only: %s", exc)
            return self._local.acquire(count)
        if wait > 0:
            time.sleep(wait)
        return wait


_limiters: dict[tuple[float, str], RateLimiter | RedisRateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter(rate: float, redis_url: str = "") -> RateLimiter | RedisRateLimiter:
    """The process's limiter for `rate` (one per configured rate, so batches share it); on
    Redis when `redis_url` is given, so that processes share it too."""
    with _limiters_lock:
        if (rate, redis_url) not in _limiters:
            _limiters[rate, redis_url] = (
                RedisRateLimiter(rate, redis_url) if redis_url else RateLimiter(rate)
            )
        return _limiters[rate, redis_url]
