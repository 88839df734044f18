"""The demo's SLA history: deadlines on its tickets and the records the sweep would have left,
consistent with each ticket, so the managers' dashboard shows how many targets were met."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from accounts.models import User
from reports import cube
from sla.models import SlaRecord
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db
UNTIL = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 15, tzinfo=dt.UTC)
SMALL = {"customers": 60, "months": 2, "per_month": 600, "until": UNTIL}


@pytest.fixture
def demo():
    with time_machine.travel(NOW, tick=False):
        call_command("load_demo", **SMALL, stdout=open("/dev/null", "w"))  # noqa: SIM115
        cube.rebuild(since=UNTIL - dt.timedelta(days=62))


def test_demo_tickets_carry_their_commitment_and_records_that_match_their_history(demo):
    tickets = Ticket.objects.all()
    assert tickets.count() > 500
    assert not tickets.filter(sla_commitment={}).exists()
    assert not tickets.filter(first_response_due__isnull=True).exists()
    records = SlaRecord.objects.select_related("ticket")
    breaches = [r for r in records if r.kind == SlaRecord.Kind.BREACH]
    assert breaches and records.filter(kind=SlaRecord.Kind.WARNING).exists()
    for record in records:
        t = record.ticket
        assert record.created_at <= NOW
        if record.target == "first_response" and record.kind == SlaRecord.Kind.BREACH:
            # Breached: answered after the deadline, or not answered by now.
            assert record.due_at == t.first_response_due
            assert t.first_response_at is None or t.first_response_at > t.first_response_due
        if record.target == "resolution" and record.kind == SlaRecord.Kind.BREACH:
            assert record.due_at == t.resolution_due
            assert t.resolved_at is None or t.resolved_at > t.resolution_due
    # Tickets answered in time have no first-response breach.
    on_time = tickets.exclude(first_response_at__isnull=True).filter(first_response_at__lte=F("first_response_due"))
    assert on_time.exists()
    assert not SlaRecord.objects.filter(
        ticket__in=on_time, target="first_response", kind=SlaRecord.Kind.BREACH
    ).exists()
    # Open tickets still running a clock have their next check, so the sweep carries on.
    assert tickets.filter(status__in=(Status.NEW, Status.WAITING_AGENT), sla_next_check_at__isnull=False).exists()


def test_the_demo_dashboard_shows_the_share_of_targets_met(demo):
    client = Client()
    client.force_login(User.objects.get(username="manager"))
    with time_machine.travel(NOW, tick=False):
        response = client.get("/manage/", {"start": "2026-05-01", "end": "2026-06-30"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    targets = response.context["summary"]["targets"]
    for name in ("first_response", "resolution"):
        assert 0 < targets[name]["share_met"] <= 1
        assert targets[name]["met"] > 0
    assert targets["first_response"]["breached"] > 0
    page = response.content.decode()
    first_card = page[page.index("First response on time") :][:300]
    assert re.search(r'class="stat">\d+([.,]\d+)?(\s|&nbsp;|&#160;)?%', first_card), first_card
