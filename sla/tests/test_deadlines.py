"""Deadlines a ticket gets from its line's working hours and its customer's targets, and how
they move as the conversation goes on (first response, pauses, next responses, transfers)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.tests.factories import AgentFactory, CustomerFactory, PlanFactory
from queues.tests.factories import LineFactory
from sla.deadlines import clear_calendar_cache
from sla.models import BusinessCalendar, LimitedServicePeriod, SlaPolicy, SlaRecord, SlaTarget
from sla.selectors import line_clocks
from sla.services import sla_sweep
from tickets import services
from tickets.models import Status, Ticket, Urgency

MSK = ZoneInfo("Europe/Moscow")
FRIDAY_EVENING = dt.datetime(2026, 3, 6, 19, 0, tzinfo=MSK)  # Friday, after hours


def msk(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MSK)


@pytest.fixture(autouse=True)
def fresh_calendars():
    clear_calendar_cache()
    yield
    clear_calendar_cache()


def weekday_calendar(name: str, starts_at: dt.time, ends_at: dt.time, days=range(5)) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name=name, time_zone="Europe/Moscow")
    for day in days:
        calendar.intervals.create(weekday=day, starts_at=starts_at, ends_at=ends_at)
    return calendar


@pytest.fixture
def consultants(db) -> BusinessCalendar:
    """Consultants work 10:00-18:00 Moscow time on weekdays."""
    return weekday_calendar("Consultants", dt.time(10), dt.time(18))


@pytest.fixture
def first_line(consultants):
    return LineFactory(code="sla-first", name="Consultants", level=1, calendar=consultants)


@pytest.fixture
def targets(db):
    SlaPolicy.current()
    return {
        urgency: SlaTarget.objects.create(
            urgency=urgency, first_response_minutes=first, next_response_minutes=following, resolution_minutes=whole
        )
        for urgency, first, following, whole in (
            (Urgency.NORMAL, 240, 120, 960),
            (Urgency.HIGH, 60, 60, 480),
            (Urgency.CRITICAL, 30, 30, 240),
        )
    }


@pytest.fixture
def client_customer(db):
    return CustomerFactory(username="sla-customer")


@pytest.fixture
def consultant(first_line):
    user = AgentFactory(username="sla-consultant")
    first_line.memberships.create(user=user)
    return user


def file_ticket(customer, at: dt.datetime, **fields) -> Ticket:
    with time_machine.travel(at, tick=False):
        return services.ticket_create(
            customer=customer, subject="Site is down", body="Our site answers 502 since this morning.", **fields
        )


def reply(ticket: Ticket, author, at: dt.datetime, **fields) -> None:
    with time_machine.travel(at, tick=False):
        services.message_add(ticket=ticket, author=author, body="Checking it now.", **fields)
    ticket.refresh_from_db()


# --- deadlines at creation ---------------------------------------------------------------


def test_a_friday_evening_ticket_is_due_on_monday_in_working_hours(first_line, targets, client_customer):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    ticket.refresh_from_db()
    assert ticket.line == first_line
    # 240 working minutes from Friday 19:00 are Monday 10:00-14:00.
    assert ticket.first_response_due == msk(2026, 3, 9, 14, 0)
    # 960 minutes are all of Monday and Tuesday.
    assert ticket.resolution_due == msk(2026, 3, 10, 18, 0)
    assert ticket.sla_commitment == {
        "first_response": 240,
        "next_response": 120,
        "resolution": 960,
        "limited": False,
        "calendar_24x7": False,
    }
    assert ticket.next_response_due is None


def test_warnings_come_at_the_policy_share_of_the_target(first_line, targets, client_customer):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    ticket.refresh_from_db()
    # 80% of 240 minutes is 192: Monday 13:12; 80% of 960 is 768: Tuesday 14:48.
    assert ticket.first_response_warn_at == msk(2026, 3, 9, 13, 12)
    assert ticket.resolution_warn_at == msk(2026, 3, 10, 14, 48)
    assert ticket.sla_next_check_at == ticket.first_response_warn_at

    policy = SlaPolicy.current()
    policy.warn_at_share = 0.5
    policy.save()
    half = file_ticket(client_customer, FRIDAY_EVENING)
    half.refresh_from_db()
    assert half.first_response_warn_at == msk(2026, 3, 9, 12, 0)


def test_critical_tickets_count_around_the_clock(first_line, targets, client_customer):
    ticket = file_ticket(client_customer, FRIDAY_EVENING, urgency=Urgency.CRITICAL)
    ticket.refresh_from_db()
    assert ticket.sla_commitment["calendar_24x7"] is True
    assert ticket.first_response_due == FRIDAY_EVENING + dt.timedelta(minutes=30)
    assert ticket.first_response_warn_at == FRIDAY_EVENING + dt.timedelta(minutes=24)
    assert ticket.resolution_due == FRIDAY_EVENING + dt.timedelta(hours=4)


def test_a_plan_with_its_own_targets_beats_the_default(first_line, targets, client_customer):
    premium = PlanFactory(code="premium", level=3)
    SlaTarget.objects.create(
        plan=premium,
        urgency=Urgency.NORMAL,
        first_response_minutes=60,
        next_response_minutes=60,
        resolution_minutes=480,
    )
    client_customer.customer_profile.support_plan = premium
    client_customer.customer_profile.save()
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    ticket.refresh_from_db()
    assert ticket.first_response_due == msk(2026, 3, 9, 11, 0)
    assert ticket.resolution_due == msk(2026, 3, 9, 18, 0)


def test_without_targets_a_ticket_has_no_deadlines(first_line, client_customer):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    ticket.refresh_from_db()
    assert ticket.sla_commitment == {}
    assert ticket.first_response_due is None and ticket.resolution_due is None
    assert ticket.sla_next_check_at is None


def test_a_limited_service_period_replaces_targets_but_critical_keeps_ten_minutes(first_line, targets, client_customer):
    LimitedServicePeriod.objects.create(
        name="Data centre move", starts_at=msk(2026, 3, 6, 0, 0), ends_at=msk(2026, 3, 8, 0, 0)
    )
    normal = file_ticket(client_customer, FRIDAY_EVENING)
    critical = file_ticket(client_customer, FRIDAY_EVENING, urgency=Urgency.CRITICAL)
    normal.refresh_from_db()
    critical.refresh_from_db()
    assert normal.sla_commitment["limited"] is True
    assert normal.first_response_due == FRIDAY_EVENING + dt.timedelta(hours=72)
    assert normal.resolution_due == FRIDAY_EVENING + dt.timedelta(hours=72)
    assert critical.first_response_due == FRIDAY_EVENING + dt.timedelta(minutes=10)
    assert critical.resolution_due == FRIDAY_EVENING + dt.timedelta(hours=72)
    # After the period the plan's targets apply again.
    later = file_ticket(client_customer, msk(2026, 3, 9, 10, 0))
    later.refresh_from_db()
    assert later.sla_commitment["limited"] is False
    assert later.first_response_due == msk(2026, 3, 9, 14, 0)


# --- the conversation ----------------------------------------------------------------


def test_a_public_reply_in_time_meets_the_first_response(first_line, targets, client_customer, consultant):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    ticket.refresh_from_db()
    assert ticket.sla_next_check_at == msk(2026, 3, 9, 13, 12)

    reply(ticket, consultant, msk(2026, 3, 9, 11, 30))
    assert ticket.first_response_at == msk(2026, 3, 9, 11, 30)
    assert ticket.first_response_at < ticket.first_response_due
    # Only the resolution is left to watch.
    assert ticket.sla_next_check_at == ticket.resolution_warn_at == msk(2026, 3, 10, 14, 48)


def test_an_internal_note_is_not_a_first_response(first_line, targets, client_customer, consultant):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    reply(ticket, consultant, msk(2026, 3, 9, 11, 30), kind="note")
    assert ticket.first_response_at is None
    assert ticket.sla_next_check_at == ticket.first_response_warn_at


def test_the_resolution_clock_pauses_while_waiting_for_the_customer(first_line, targets, client_customer, consultant):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    # Monday 12:00: the consultant asks a question. 840 working minutes are left until Tuesday 18:00.
    reply(ticket, consultant, msk(2026, 3, 9, 12, 0), wait_for_customer=True)
    assert ticket.status == Status.WAITING_CUSTOMER
    assert ticket.resolution_due is None and ticket.resolution_warn_at is None
    assert ticket.resolution_paused_minutes == pytest.approx(840)

    # Wednesday 17:00: the customer answers; the remaining 840 minutes run from now.
    reply(ticket, client_customer, msk(2026, 3, 11, 17, 0))
    assert ticket.status == Status.WAITING_AGENT
    assert ticket.resolution_paused_minutes is None
    # Wednesday 17-18 (60) + Thursday (480) + Friday 10:00-15:00 (300).
    assert ticket.resolution_due == msk(2026, 3, 13, 15, 0)
    # The warning keeps 20% of the whole target (192 minutes) before the deadline: 648 minutes on.
    assert ticket.resolution_warn_at == msk(2026, 3, 13, 11, 48)


def test_a_customer_message_starts_the_next_response_clock_and_a_reply_stops_it(
    first_line, targets, client_customer, consultant
):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    reply(ticket, consultant, msk(2026, 3, 9, 11, 0))
    assert ticket.next_response_due is None

    # Monday 17:00: the customer writes; 120 working minutes are Monday 17-18 and Tuesday 10-11.
    reply(ticket, client_customer, msk(2026, 3, 9, 17, 0))
    assert ticket.next_response_due == msk(2026, 3, 10, 11, 0)
    assert ticket.next_response_warn_at == msk(2026, 3, 10, 10, 36)
    assert ticket.sla_next_check_at == ticket.next_response_warn_at

    reply(ticket, consultant, msk(2026, 3, 10, 10, 15))
    assert ticket.next_response_due is None and ticket.next_response_warn_at is None
    assert ticket.sla_next_check_at == ticket.resolution_warn_at


def test_a_customer_message_before_the_first_response_starts_no_next_response_clock(
    first_line, targets, client_customer
):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    reply(ticket, client_customer, msk(2026, 3, 9, 10, 30))
    assert ticket.next_response_due is None
    assert ticket.first_response_due == msk(2026, 3, 9, 14, 0)


def test_a_follow_up_message_does_not_push_the_next_response_deadline(first_line, targets, client_customer, consultant):
    ticket = file_ticket(client_customer, FRIDAY_EVENING)
    reply(ticket, consultant, msk(2026, 3, 9, 11, 0))
    reply(ticket, client_customer, msk(2026, 3, 9, 12, 0))
    assert ticket.next_response_due == msk(2026, 3, 9, 14, 0)
    # An hour later the customer adds a detail; the first message still waits for an answer.
    reply(ticket, client_customer, msk(2026, 3, 9, 13, 0))
    assert ticket.next_response_due == msk(2026, 3, 9, 14, 0)


def test_each_line_is_measured_in_its_own_working_hours(first_line, targets, client_customer, consultant):
    evenings = weekday_calendar("Evening engineers", dt.time(14), dt.time(22), days=range(7))
    second_line = LineFactory(code="sla-second", name="Engineers", level=2, calendar=evenings)
    ticket = file_ticket(client_customer, msk(2026, 3, 9, 9, 0))  # Monday, before the consultants start
    with time_machine.travel(msk(2026, 3, 9, 12, 0), tick=False):
        services.ticket_transfer(ticket=ticket, actor=consultant, to_line=second_line, reason="Needs an engineer")
    ticket.refresh_from_db()

    clocks = line_clocks(ticket=ticket, now=msk(2026, 3, 9, 15, 30))
    assert [(clock["line"], clock["business_minutes"]) for clock in clocks] == [
        (first_line, 120),  # 10:00-12:00 of the consultants' day
        (second_line, 90),  # 14:00-15:30 of the engineers' evening, not 12:00-15:30
    ]
    assert clocks[0]["left_at"] == clocks[1]["entered_at"] == msk(2026, 3, 9, 12, 0)
    assert clocks[1]["left_at"] is None
    # The ticket's own deadlines stay those of its commitment, counted where it was filed.
    assert ticket.first_response_due == msk(2026, 3, 9, 14, 0)


# --- a new urgency, a solution and a reopening ---------------------------------------------


def set_urgency(ticket: Ticket, actor, at: dt.datetime, urgency: str) -> None:
    with time_machine.travel(at, tick=False):
        services.ticket_set_urgency(ticket=ticket, actor=actor, urgency=urgency, reason="The whole site is down")
    ticket.refresh_from_db()


MONDAY_TEN = msk(2026, 3, 9, 10, 0)  # the consultants' day starts


def test_a_raised_urgency_applies_its_targets_to_the_time_already_used(
    first_line, targets, client_customer, consultant
):
    ticket = file_ticket(client_customer, MONDAY_TEN)
    ticket.refresh_from_db()
    assert ticket.first_response_due == msk(2026, 3, 9, 14, 0)  # normal: 240 minutes
    assert ticket.resolution_due == msk(2026, 3, 10, 18, 0)  # 960 minutes

    set_urgency(ticket, consultant, msk(2026, 3, 9, 10, 20), Urgency.HIGH)
    assert ticket.sla_commitment["first_response"] == 60
    # 20 of the 60 minutes are used: due at 11:00, warned at 80% (48 minutes in) at 10:48.
    assert ticket.first_response_due == msk(2026, 3, 9, 11, 0)
    assert ticket.first_response_warn_at == msk(2026, 3, 9, 10, 48)
    # 20 of the 480 minutes are used: the 460 left end with the day; warned 384 minutes in.
    assert ticket.resolution_due == msk(2026, 3, 9, 18, 0)
    assert ticket.resolution_warn_at == msk(2026, 3, 9, 16, 24)
    assert ticket.sla_next_check_at == ticket.first_response_warn_at


def test_a_target_used_up_already_is_due_at_once_and_the_sweep_records_the_breach(
    first_line, targets, client_customer, consultant
):
    ticket = file_ticket(client_customer, MONDAY_TEN)
    raised_at = msk(2026, 3, 9, 11, 0)
    set_urgency(ticket, consultant, raised_at, Urgency.CRITICAL)
    # An hour has gone of a critical ticket's 30 minutes: due now, and the rest counts around the clock.
    assert ticket.first_response_due == ticket.first_response_warn_at == raised_at
    assert ticket.sla_commitment["calendar_24x7"] is True
    assert ticket.resolution_due == raised_at + dt.timedelta(minutes=240 - 60)
    assert ticket.sla_next_check_at == raised_at

    with time_machine.travel(raised_at + dt.timedelta(seconds=30), tick=False):
        sla_sweep()
    breaches = SlaRecord.objects.filter(ticket=ticket, kind=SlaRecord.Kind.BREACH)
    assert list(breaches.values_list("target", "due_at")) == [(SlaRecord.Target.FIRST_RESPONSE, raised_at)]


def test_a_lowered_urgency_moves_running_deadlines_later_but_not_a_passed_one(
    first_line, targets, client_customer, consultant
):
    ticket = file_ticket(client_customer, MONDAY_TEN, urgency=Urgency.HIGH)
    ticket.refresh_from_db()
    assert ticket.first_response_due == msk(2026, 3, 9, 11, 0)

    set_urgency(ticket, consultant, msk(2026, 3, 9, 11, 30), Urgency.NORMAL)
    # The first response was due at 11:00 and was missed: that stays.
    assert ticket.first_response_due == msk(2026, 3, 9, 11, 0)
    # 90 of the resolution's minutes are used; 870 of normal's 960 are left: 390 today, 480 on Tuesday.
    assert ticket.resolution_due == msk(2026, 3, 10, 18, 0)
    assert ticket.sla_commitment["resolution"] == 960


def test_a_paused_resolution_clock_keeps_what_the_new_target_leaves(first_line, targets, client_customer, consultant):
    ticket = file_ticket(client_customer, MONDAY_TEN)
    reply(ticket, consultant, msk(2026, 3, 9, 12, 0), wait_for_customer=True)
    assert ticket.resolution_paused_minutes == pytest.approx(840)  # 120 of 960 used
    first_response_due = ticket.first_response_due

    set_urgency(ticket, consultant, msk(2026, 3, 9, 13, 0), Urgency.HIGH)
    assert ticket.resolution_paused_minutes == pytest.approx(480 - 120)
    assert ticket.resolution_due is None
    assert ticket.first_response_due == first_response_due  # answered at 12:00: nothing to move

    reply(ticket, client_customer, msk(2026, 3, 9, 14, 0))
    assert ticket.resolution_due == msk(2026, 3, 9, 18, 0) + dt.timedelta(hours=16, minutes=120)  # Tuesday 12:00


def test_without_a_target_for_the_new_urgency_the_old_commitment_stays(
    first_line, targets, client_customer, consultant
):
    ticket = file_ticket(client_customer, MONDAY_TEN)
    ticket.refresh_from_db()
    before = (ticket.sla_commitment, ticket.first_response_due, ticket.resolution_due)
    targets[Urgency.CRITICAL].delete()
    set_urgency(ticket, consultant, msk(2026, 3, 9, 10, 30), Urgency.CRITICAL)
    assert (ticket.sla_commitment, ticket.first_response_due, ticket.resolution_due) == before


def test_a_solution_pauses_the_resolution_clock_and_a_reopening_resumes_it(
    first_line, targets, client_customer, consultant
):
    ticket = file_ticket(client_customer, MONDAY_TEN)
    reply(ticket, consultant, msk(2026, 3, 9, 12, 0))
    with time_machine.travel(msk(2026, 3, 9, 12, 0), tick=False):
        services.ticket_resolve(ticket=ticket, actor=consultant)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.resolution_due is None and ticket.resolution_paused_minutes == pytest.approx(840)
    assert ticket.sla_next_check_at == ticket.resolved_at + dt.timedelta(
        days=SlaPolicy.current().autoclose_resolved_days
    )

    # Thursday 10:00, after the old deadline (Tuesday 18:00): the 840 minutes left run from now.
    with time_machine.travel(msk(2026, 3, 12, 10, 0), tick=False):
        services.ticket_reopen(ticket=ticket, customer=client_customer, body="It is down again.")
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_AGENT
    assert ticket.resolution_paused_minutes is None
    assert ticket.resolution_due == msk(2026, 3, 13, 16, 0)  # Thursday's 480, then Friday 10:00-16:00
    with time_machine.travel(msk(2026, 3, 12, 10, 1), tick=False):
        sla_sweep()
    assert not SlaRecord.objects.filter(ticket=ticket, kind=SlaRecord.Kind.BREACH).exists()


def test_the_api_answers_a_new_urgency_with_the_moved_deadlines(first_line, targets, client_customer, consultant):
    ticket = file_ticket(client_customer, MONDAY_TEN)
    client = APIClient()
    client.force_authenticate(user=consultant)
    with time_machine.travel(msk(2026, 3, 9, 10, 20), tick=False):
        response = client.post(
            reverse("api:ticket-urgency", args=[ticket.number]),
            {"urgency": "high", "reason": "Payments fail"},
            format="json",
        )
    assert response.status_code == 200, response.content
    sla = response.json()["sla"]
    assert dt.datetime.fromisoformat(sla["first_response_due"]) == msk(2026, 3, 9, 11, 0)
    assert dt.datetime.fromisoformat(sla["resolution_due"]) == msk(2026, 3, 9, 18, 0)
    assert sla["commitment"] == "We answer within 60 minutes of working time."  # was 240


class _RollBack(Exception):
    """Ends a hypothesis example and undoes its rows."""


URGENCIES = [Urgency.NORMAL, Urgency.HIGH, Urgency.CRITICAL]


@pytest.mark.django_db
@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    filed_after=st.integers(min_value=0, max_value=7 * 24 * 60),
    changed_after=st.integers(min_value=0, max_value=3 * 60),
    pair=st.sampled_from([(there, back) for there in URGENCIES for back in URGENCIES if there != back]),
)
def test_an_urgency_changed_and_changed_back_at_once_keeps_its_deadlines(
    first_line, targets, client_customer, consultant, filed_after, changed_after, pair
):
    """Changing the urgency and changing it back at the same moment gives the deadlines the
    ticket had, whatever calendars the two urgencies count in (unless the other urgency's
    target was used up already: then it is due, and breached, at once); and no changed
    deadline ever lies before the moment of the change."""
    there, back = pair
    filed_at = msk(2026, 3, 2, 0, 0) + dt.timedelta(minutes=filed_after)
    changed_at = filed_at + dt.timedelta(minutes=changed_after)
    try:
        with transaction.atomic():
            ticket = file_ticket(client_customer, filed_at, urgency=back)
            ticket.refresh_from_db()
            before = (ticket.first_response_due, ticket.resolution_due)
            if min(before) <= changed_at:
                raise _RollBack  # a deadline passed: it stays (tested above)
            set_urgency(ticket, consultant, changed_at, there)
            assert ticket.first_response_due >= changed_at and ticket.resolution_due >= changed_at
            assert ticket.first_response_due != before[0]  # every urgency has its own first-response target
            if changed_at in (ticket.first_response_due, ticket.resolution_due):
                raise _RollBack  # the new target was used up: due at once, breached (tested above)
            set_urgency(ticket, consultant, changed_at, back)
            after = (ticket.first_response_due, ticket.resolution_due)
            for old, new in zip(before, after, strict=True):
                if old > changed_at:
                    assert abs(new - old) < dt.timedelta(seconds=1), (old, new)
            raise _RollBack
    except _RollBack:
        pass
