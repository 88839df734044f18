import pytest

# A real SMTP server and eager Celery, as the notifications' tests use them.
from notifications.tests.conftest import eager, smtp  # noqa: F401
from queues.models import RoutingRule
from status.tests.factories import catalogue


@pytest.fixture
def components(db):
    return catalogue()


@pytest.fixture
def routed(line):
    """Every topic goes to the first line."""
    RoutingRule.objects.create(category="general", line=line)
    return line


@pytest.fixture(autouse=True)
def fresh_status_cache():
    """Each test starts from a new version: nothing cached by another test is read."""
    from django.core.cache import cache

    from status.selectors import VERSION_KEY

    cache.delete(VERSION_KEY)
