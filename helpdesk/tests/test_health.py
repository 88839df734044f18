"""/healthz answers 200 only when PostgreSQL and Redis both answer."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_health_is_ok_when_both_servers_answer(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_health_tells_how_many_events_wait_for_the_notifications_and_since_when(client, customer, line):
    import datetime as dt

    import time_machine

    from tickets.models import EventOutbox
    from tickets.tests.helpers import make_ticket

    assert client.get(reverse("healthz")).json()["notification_outbox"] == {
        "waiting": 0,
        "oldest_seconds": None,
        "parked": 0,
    }
    make_ticket(customer)  # its creation waits for the drain
    later = EventOutbox.objects.get().created_at + dt.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        backlog = client.get(reverse("healthz")).json()["notification_outbox"]
    assert backlog == {"waiting": 1, "oldest_seconds": 300.0, "parked": 0}


@pytest.mark.django_db
def test_health_counts_the_parked_events_apart_from_the_waiting_ones(client, customer, line):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from tickets.models import EventOutbox
    from tickets.tests.helpers import make_ticket

    make_ticket(customer)
    make_ticket(customer)
    older, newer = EventOutbox.objects.order_by("event_id")
    now = timezone.now()
    EventOutbox.objects.filter(pk=older.pk).update(
        created_at=now - dt.timedelta(hours=5), parked_at=now, attempts=10, last_error="ValueError: broken"
    )
    EventOutbox.objects.filter(pk=newer.pk).update(created_at=now - dt.timedelta(seconds=30))
    with time_machine.travel(now, tick=False):
        backlog = client.get(reverse("healthz")).json()["notification_outbox"]
    # The parked event is no sign of a stopped drain: the age is the oldest waiting one's.
    assert backlog == {"waiting": 1, "oldest_seconds": 30.0, "parked": 1}


@pytest.mark.django_db
def test_the_backlog_is_counted_only_up_to_a_limit(client, customer, line, monkeypatch):
    from helpdesk import health
    from tickets.tests.helpers import make_ticket

    monkeypatch.setattr(health, "BACKLOG_COUNT_LIMIT", 2)
    for _ in range(3):
        make_ticket(customer)
    assert client.get(reverse("healthz")).json()["notification_outbox"]["waiting"] == 2


@pytest.mark.django_db
def test_health_fails_and_names_redis_when_redis_is_down(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["postgres"] == "ok"
    assert "ConnectionError" in body["checks"]["redis"]


@pytest.mark.slow  # a fresh interpreter
def test_health_fails_and_names_postgres_when_the_database_is_down():
    # A fresh interpreter whose DATABASE_URL points at a port where nothing listens.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"}
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{closed_port()}/helpdesk"
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='localhost'); print(r.status_code); print(r.content.decode())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split("\n", 1)
    assert status == "503"
    checks = json.loads(body)["checks"]
    assert checks["redis"] == "ok"
    assert "OperationalError" in checks["postgres"]
