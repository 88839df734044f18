"""Housekeeping tasks of the project itself."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "celery:heartbeat"


@shared_task(name="helpdesk.tasks.ping", time_limit=10, soft_time_limit=5, acks_late=True)
def ping() -> str:
    """A round trip through the broker and a worker; used by health checks and tests."""
    return "pong"


@shared_task(name="helpdesk.tasks.heartbeat", time_limit=10, soft_time_limit=5, acks_late=True, ignore_result=True)
def heartbeat() -> None:
    """Scheduled by beat and run by a worker: its timestamp proves that both are alive."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)


def last_heartbeat() -> str | None:
    return cache.get(HEARTBEAT_KEY)
