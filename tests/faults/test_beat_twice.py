"""Beat running twice (two beat processes, or one sweep still running when the next is due): no
sweep is doubled. A sweep holds a PostgreSQL advisory lock while it runs; a second one finds it
held and returns at once, doing nothing. (tests/test_two_processes.py runs two real beats.)"""

import datetime as dt
import threading
import time

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from sla import actions
from sla.services import SWEEP_LOCK_KEY, sla_sweep
from tests.faults.helpers import SWEPT, sla_state, tickets_due
from tests.processes import live_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def sweep_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", [SWEEP_LOCK_KEY])
        return cursor.fetchone()[0]


def test_a_sweep_while_another_runs_returns_at_once_and_does_nothing(line, customer):
    ids = tickets_due(customer, 5, timezone.now() - dt.timedelta(minutes=1))
    # Another worker's sweep holds the lock, on a connection of its own.
    other = psycopg2.connect(live_database_url())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SWEEP_LOCK_KEY])
        assert sla_sweep() == 0
        assert all(value == ([], []) for value in sla_state(ids).values())
    finally:
        other.close()  # a worker that dies takes its lock with it, once its backend has gone
    deadline = time.monotonic() + 10
    while sweep_locks() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sla_sweep() == 5
    assert sla_state(ids) == {ticket_id: SWEPT for ticket_id in ids}


def test_two_sweeps_sent_at_once_one_sweeps_and_the_other_skips(line, customer, monkeypatch):
    ids = tickets_due(customer, 30, timezone.now() - dt.timedelta(minutes=1))
    inside = threading.Event()
    release = threading.Event()
    real_warn = actions.warn

    def slow_warn(**kwargs):
        # The first sweep stops inside its work until the second has come and gone.
        inside.set()
        release.wait(timeout=30)
        return real_warn(**kwargs)

    monkeypatch.setattr(actions, "warn", slow_warn)
    handled: dict[str, int] = {}

    def first():
        try:
            handled["first"] = sla_sweep()
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(timeout=30)
    try:
        handled["second"] = sla_sweep()
    finally:
        release.set()
        thread.join(timeout=60)
    assert handled == {"first": 30, "second": 0}
    assert sla_state(ids) == {ticket_id: SWEPT for ticket_id in ids}
    assert sweep_locks() == 0  # let go at the end
