import uuid

import pytest


@pytest.fixture(autouse=True)
def own_cache(settings):
    """A cache of each test's own: throttles and rate limits count from zero, whatever ran before
    (the suite shares one Redis database)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }
