"""The SLA sweep runs by itself: Celery beat schedules it every HELPDESK_SLA_SWEEP_SECONDS and a
real worker process (over Redis, not eager mode) records a breach soon after the deadline."""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from sla.models import SlaRecord
from tests.processes import live_database_url
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.tests.helpers import make_ticket

BASE_DIR = Path(__file__).resolve().parents[1]
SWEEP_SECONDS = 1
START_TIMEOUT = 90  # Django and Celery start in each process
SLACK_SECONDS = 3  # a beat tick, a task's trip through Redis, a busy machine

pytestmark = pytest.mark.slow


def celery(tmp_path: Path, name: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "HELPDESK_SLA_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "HELPDESK_HEARTBEAT_SECONDS": "1",
        "HELPDESK_NOTIFY_SECONDS": "1",
    }
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - the process owns it until it exits
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "helpdesk", *args, "--loglevel", "WARNING"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def logs(tmp_path: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in sorted(tmp_path.glob("*.log"))
    )


def wait_for(predicate, timeout: float, procs: list[subprocess.Popen], tmp_path: Path, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(
                    f"a Celery process exited ({proc.returncode}) while waiting for {what}\n" + logs(tmp_path)
                )
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n" + logs(tmp_path))


@pytest.fixture
def worker_and_beat(tmp_path, transactional_db):
    """A worker and beat sharing this test's database and Redis."""
    procs = [
        celery(tmp_path, "worker", "worker", "--pool", "solo", "--hostname", f"sla-sweep-{os.getpid()}@%h"),
        celery(
            tmp_path,
            "beat",
            "beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
            "--pidfile",
            str(tmp_path / "beat.pid"),
        ),
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            stop(proc)


def due_now(ticket: Ticket, due: dt.datetime) -> None:
    """Give the ticket a first-response deadline (and its warning) at `due`."""
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due=due, first_response_warn_at=due, sla_next_check_at=due
    )


def breach_of(ticket: Ticket):
    return SlaRecord.objects.filter(ticket=ticket, kind=SlaRecord.Kind.BREACH).first()


@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_record_a_breach_within_one_sweep_of_the_deadline(worker_and_beat, tmp_path, line, customer):
    # A ticket already overdue shows when beat and the worker are up and sweeping this database.
    probe = make_ticket(customer)
    due_now(probe, timezone.now())
    wait_for(lambda: breach_of(probe), START_TIMEOUT, worker_and_beat, tmp_path, "the first sweep")

    ticket = make_ticket(customer)
    due = timezone.now() + dt.timedelta(seconds=2)
    due_now(ticket, due)
    breach = wait_for(lambda: breach_of(ticket), 30, worker_and_beat, tmp_path, "the breach to be recorded")
    assert breach.target == SlaRecord.Target.FIRST_RESPONSE
    assert breach.due_at == due
    assert breach.line_id == line.id
    # Not before the deadline, and no later than the next sweep after it (with slack).
    assert due <= breach.created_at <= due + dt.timedelta(seconds=SWEEP_SECONDS + SLACK_SECONDS), logs(tmp_path)

    # Later sweeps leave it alone: one warning and one breach, each acted on once.
    time.sleep(3 * SWEEP_SECONDS)
    assert sorted(SlaRecord.objects.filter(ticket=ticket).values_list("kind", flat=True)) == ["breach", "warning"]
    actions = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA).values_list("data__action", flat=True)
    assert sorted(actions) == ["breach", "escalation", "warning"]
    assert Ticket.objects.get(pk=ticket.pk).sla_next_check_at is None
    assert all(proc.poll() is None for proc in worker_and_beat)
