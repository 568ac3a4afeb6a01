"""Fixed-window rate limits counted in Django's cache: Redis when `REDIS_URL` is set, so every
process and server shares the counts; the in-memory default counts per process."""

from django.core.cache import cache
from django.core.exceptions import ValidationError


class RateLimited(ValidationError):
    """Over a limit. A view shows the message and answers 429."""


def within_limit(key: str, *, limit: int, seconds: int) -> bool:
    """Count one hit against `key`; False once the window holds more than `limit` hits."""
    cache.add(key, 0, timeout=seconds)  # starts the window; a no-op while it runs
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=seconds)
        count = 1
    return count <= limit
