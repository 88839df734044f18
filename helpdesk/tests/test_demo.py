"""The demo loader: idempotent, deterministic, and shaped like a real support department."""

import datetime as dt
import hashlib
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import CustomerProfile, Plan, Role, User
from queues.models import Line
from tickets.models import TICKET_NUMBER_SEQUENCE, Message, ReplyTemplate, Ticket

pytestmark = pytest.mark.django_db
UNTIL = dt.date(2026, 6, 30)
SMALL = {"customers": 60, "months": 2, "per_month": 600, "until": UNTIL}


def load(**options):
    call_command("load_demo", **{**SMALL, **options}, stdout=open("/dev/null", "w"))  # noqa: SIM115


def fingerprint() -> str:
    """A digest of the demo content that ignores database ids."""
    rows = Ticket.objects.order_by("number").values_list(
        "number", "subject", "status", "line__code", "customer__username", "assignee__username", "created_at"
    )
    messages = Message.objects.order_by("ticket__number", "created_at", "kind").values_list(
        "ticket__number", "kind", "author__username", "body", "created_at"
    )
    digest = hashlib.sha256()
    for row in [*rows, *messages]:
        digest.update(repr(row).encode())
    return digest.hexdigest()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "profiles": CustomerProfile.objects.count(),
        "lines": Line.objects.count(),
        "plans": Plan.objects.count(),
        "templates": ReplyTemplate.objects.count(),
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
    }


def test_loading_twice_changes_nothing():
    load()
    first = counts()
    digest = fingerprint()
    load()
    assert counts() == first
    assert fingerprint() == digest
    assert first["tickets"] > 1000


@pytest.mark.django_db(transaction=True)
def test_loading_is_deterministic_from_an_empty_database():
    def empty_database():
        call_command("flush", interactive=False)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER SEQUENCE {TICKET_NUMBER_SEQUENCE} RESTART")

    empty_database()
    load()
    digest = fingerprint()
    empty_database()
    load()
    assert fingerprint() == digest


def test_the_provider_has_its_plans_lines_people_and_templates():
    load()
    assert Plan.objects.filter(kind=Plan.Kind.SUPPORT_LEVEL).count() == 4
    packages = {p.code: p for p in Plan.objects.filter(kind=Plan.Kind.ADMIN_PACKAGE)}
    assert (packages["admin-basic"].monthly_price, packages["admin-basic"].tasks_per_month) == (250, 5)
    assert (packages["admin-premium"].monthly_price, packages["admin-premium"].tasks_per_month) == (2000, 10)
    lines = {line.code: line for line in Line.objects.all()}
    assert set(lines) == {"first-line", "consultants", "administrators", "finance", "sales"}
    assert lines["first-line"].next_line == lines["consultants"]
    assert lines["consultants"].next_line == lines["administrators"]
    assert lines["first-line"].members.count() > lines["finance"].members.count()
    assert ReplyTemplate.objects.filter(line=lines["first-line"], language="ru").count() == 10
    assert ReplyTemplate.objects.filter(line=lines["first-line"], language="en").count() == 10
    greetings = dict(ReplyTemplate.objects.filter(code="greeting").values_list("language", "title"))
    assert greetings == {"ru": "Приветствие", "en": "Greeting"}  # each in its own language
    assert User.objects.filter(role=Role.CUSTOMER).count() == SMALL["customers"] + 2
    for username in ("customer", "agent", "manager", "quality", "admin"):
        assert User.objects.get(username=username).check_password("demo")


def test_customers_differ_in_tenure_spend_and_habits():
    load(customers=300)
    profiles = CustomerProfile.objects.filter(user__username__startswith="demo-customer-")
    tenure = sorted((UNTIL - p.customer_since).days for p in profiles)
    spend = sorted(float(p.spend_12m) for p in profiles)
    assert tenure[len(tenure) // 10] < 180 < 1000 < tenure[-len(tenure) // 10]
    assert spend[-1] > 10 * spend[len(spend) // 2]
    assert profiles.filter(is_vip=True).exists()
    assert profiles.filter(is_problematic=True).exists()


def test_history_follows_the_weekly_and_daily_rhythm():
    load(customers=200, months=3, per_month=4000)
    moscow = ZoneInfo("Europe/Moscow")
    created = [t.astimezone(moscow) for t in Ticket.objects.values_list("created_at", flat=True)]
    by_weekday = Counter(moment.weekday() for moment in created)
    by_hour = Counter(moment.hour for moment in created)
    weekday_average = sum(by_weekday[d] for d in range(1, 5)) / 4
    assert by_weekday[0] < 0.9 * weekday_average  # the Monday dip
    assert by_weekday[5] > weekday_average and by_weekday[6] > weekday_average  # weekend activity
    assert by_hour[11] > by_hour[13] < by_hour[15]  # before and after lunch
    assert by_hour[22] > by_hour[19]  # late evening
    assert by_hour[4] < by_hour[11] / 5  # quiet night


def test_most_requests_are_solved_at_the_first_level():
    load(customers=200, months=2, per_month=3000)
    from_first = Ticket.objects.filter(
        solved_at_first_level__isnull=False, category__in=["general", "tech_simple", "tech_medium", "tech_complex"]
    )
    share = from_first.filter(solved_at_first_level=True).count() / from_first.count()
    assert 0.55 < share < 0.8
