"""`/healthz`: 200 only when PostgreSQL and Redis both answer."""

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tickets.models import EventOutbox

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2


def check_postgres() -> str | None:
    """None when the database answers, else what went wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # A broken connection must not stay in the pool for the next request.
        connection.close_if_unusable_or_obsolete()
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def check_redis() -> str | None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    finally:
        client.close()
    return None


def celery_heartbeat() -> str | None:
    from helpdesk.tasks import last_heartbeat

    try:
        return last_heartbeat()
    except redis.RedisError:
        return None


BACKLOG_COUNT_LIMIT = 10_000


def notification_backlog() -> dict:
    """Ticket events waiting for the notifications drain (counted up to BACKLOG_COUNT_LIMIT, so
    the check stays cheap however large the backlog), the age of the oldest in seconds (a
    growing age means beat or the worker is not running), and the events the drain gave up on
    after OUTBOX_MAX_ATTEMPTS failures (`parked`: each is an e-mail nobody got; retry them
    from the admin once the cause is fixed)."""
    waiting_rows = EventOutbox.objects.filter(parked_at__isnull=True)
    waiting = waiting_rows[:BACKLOG_COUNT_LIMIT].count()
    # Event ids grow with time: the primary key finds the oldest without reading the table.
    oldest = waiting_rows.order_by("event_id").values_list("created_at", flat=True).first()
    age = round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
    parked = EventOutbox.objects.filter(parked_at__isnull=False)[:BACKLOG_COUNT_LIMIT].count()
    return {"waiting": waiting, "oldest_seconds": age, "parked": parked}


@never_cache
@require_GET
def healthz(request):
    failures = {}
    for name, check in (("postgres", check_postgres), ("redis", check_redis)):
        problem = check()
        if problem:
            failures[name] = problem
            logger.warning("health check failed: %s: %s", name, problem)
    checks = {name: failures.get(name, "ok") for name in ("postgres", "redis")}
    body = {"status": "fail" if failures else "ok", "checks": checks}
    if "redis" not in failures:
        # Informational: the last time beat scheduled and a worker ran the heartbeat task.
        body["celery_heartbeat"] = celery_heartbeat()
    if "postgres" not in failures:
        body["notification_outbox"] = notification_backlog()
    return JsonResponse(body, status=503 if failures else 200)
