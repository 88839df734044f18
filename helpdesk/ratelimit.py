"""Fixed-window counters in the cache, for limits such as "3 e-mails per address per hour"."""

import hashlib

from django.core.cache import cache


def hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one use of `key` in `scope`; True while the window's count is within `limit`.

    The key is hashed, so an e-mail address or an IP never appears in the cache as typed.
    The window starts with its first use and lasts `window_seconds`.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}"
    cache.add(cache_key, 0, window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # The window ran out between add() and incr(): this use opens a new one.
        cache.add(cache_key, 1, window_seconds)
        count = 1
    return count <= limit
