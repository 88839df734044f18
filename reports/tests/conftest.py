"""A small, fixed day of tickets written through the services and swept by the SLA engine.

Monday 2 March 2026, Moscow time (the helpdesk's zone), three tickets filed in the first line,
normal urgency, targets of 60 / 60 / 480 minutes around the clock:

- A, 10:00: taken 10:10 by agent 1, answered 10:20 with a reply template, resolved 11:00,
  confirmed 11:30. First response 20 min, resolution 60 min, in progress 50 min.
- B, 10:30: nobody answers; the sweep at 11:31 records the first-response warning (due 11:18)
  and breach (due 11:30). Agent 1 takes it 12:00 and transfers it to the second line 12:05;
  agent 2 takes it 12:10 and transfers it to the third line 12:20; agent 3 takes it 12:30,
  answers 12:40 (first response 130 min), resolves 13:00; confirmed 13:30.
  In progress 5 min (first), 10 min (second), 30 min (third).
- C, 11:00: agent 1 takes it 11:05 and asks a question 11:10 (first response 10 min; the
  resolution clock pauses); the customer answers 15:00 (a next-response clock starts), agent 1
  answers 15:30 and resolves 15:40. On Tuesday the customer reopens it at 09:00 (another
  clock), agent 1 answers 09:30, resolves 10:00 (resolution 23 h after filing), and the customer
  confirms at 11:00. In progress 5 + 10 + 30 = 45 min.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.tests.factories import AgentFactory, CustomerFactory
from queues.tests.factories import LineFactory
from sla.deadlines import clear_calendar_cache
from sla.models import SlaPolicy, SlaTarget
from sla.services import sla_sweep
from tickets import services
from tickets.models import ReplyTemplate

MSK = ZoneInfo("Europe/Moscow")
DAY = dt.date(2026, 3, 2)
NEXT_DAY = dt.date(2026, 3, 3)
TEMPLATE = "Hello {customer_name}, your request #{ticket_number} is done."


def msk(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MSK)


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture(autouse=True)
def fresh_calendars():
    clear_calendar_cache()
    yield
    clear_calendar_cache()


@pytest.fixture
def day_of_tickets(db, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    first = LineFactory(code="first", name="First", level=1)
    second = LineFactory(code="second", name="Second", level=2)
    third = LineFactory(code="third", name="Third", level=3)
    agents = [AgentFactory(username=f"agent-{n}") for n in (1, 2, 3)]
    for agent, line in zip(agents, (first, second, third), strict=True):
        line.memberships.create(user=agent)
    policy = SlaPolicy.current()
    policy.first_line_escalation_minutes = 100_000
    policy.save()
    SlaTarget.objects.create(
        plan=None, urgency="normal", first_response_minutes=60, next_response_minutes=60, resolution_minutes=480
    )
    ReplyTemplate.objects.create(line=first, code="done", language="en", title="Done", body=TEMPLATE)
    customer = CustomerFactory(username="client", first_name="Olga")
    a1, a2, a3 = agents

    def create(moment, subject):
        with at(moment):
            return services.ticket_create(customer=customer, subject=subject, body="Please help.")

    def do(moment, action, **kwargs):
        with at(moment):
            return action(**kwargs)

    a = create(msk(2026, 3, 2, 10, 0), "A")
    b = create(msk(2026, 3, 2, 10, 30), "B")
    do(msk(2026, 3, 2, 10, 10), services.ticket_take, ticket=a, agent=a1)
    a.refresh_from_db()
    body = TEMPLATE.replace("{customer_name}", "Olga").replace("{ticket_number}", str(a.number))
    do(msk(2026, 3, 2, 10, 20), services.message_add, ticket=a, author=a1, body=body)
    c = create(msk(2026, 3, 2, 11, 0), "C")
    do(msk(2026, 3, 2, 11, 0), services.ticket_resolve, ticket=a, actor=a1)
    do(msk(2026, 3, 2, 11, 5), services.ticket_take, ticket=c, agent=a1)
    do(msk(2026, 3, 2, 11, 10), services.message_add, ticket=c, author=a1, body="Which server?", wait_for_customer=True)
    with at(msk(2026, 3, 2, 11, 31)):
        sla_sweep()
    do(msk(2026, 3, 2, 11, 30), services.ticket_confirm, ticket=a, customer=customer)
    do(msk(2026, 3, 2, 12, 0), services.ticket_take, ticket=b, agent=a1)
    do(msk(2026, 3, 2, 12, 5), services.ticket_transfer, ticket=b, actor=a1, to_line=second, reason="engineers")
    do(msk(2026, 3, 2, 12, 10), services.ticket_take, ticket=b, agent=a2)
    do(msk(2026, 3, 2, 12, 20), services.ticket_transfer, ticket=b, actor=a2, to_line=third, reason="deeper")
    do(msk(2026, 3, 2, 12, 30), services.ticket_take, ticket=b, agent=a3)
    do(msk(2026, 3, 2, 12, 40), services.message_add, ticket=b, author=a3, body="Fixed the kernel.")
    do(msk(2026, 3, 2, 13, 0), services.ticket_resolve, ticket=b, actor=a3)
    do(msk(2026, 3, 2, 13, 30), services.ticket_confirm, ticket=b, customer=customer)
    do(msk(2026, 3, 2, 15, 0), services.message_add, ticket=c, author=customer, body="srv-1")
    do(msk(2026, 3, 2, 15, 30), services.message_add, ticket=c, author=a1, body="Restarted it.")
    do(msk(2026, 3, 2, 15, 40), services.ticket_resolve, ticket=c, actor=a1)
    with at(msk(2026, 3, 2, 16, 0)):
        sla_sweep()
    return {
        "lines": (first, second, third),
        "agents": agents,
        "customer": customer,
        "tickets": (a, b, c),
        "do": do,
    }


@pytest.fixture
def next_day(day_of_tickets):
    """Tuesday: C is reopened, answered, resolved and confirmed."""
    do = day_of_tickets["do"]
    c, customer, a1 = day_of_tickets["tickets"][2], day_of_tickets["customer"], day_of_tickets["agents"][0]
    do(msk(2026, 3, 3, 9, 0), services.ticket_reopen, ticket=c, customer=customer, body="Down again.")
    do(msk(2026, 3, 3, 9, 30), services.message_add, ticket=c, author=a1, body="Fixed for good.")
    do(msk(2026, 3, 3, 10, 0), services.ticket_resolve, ticket=c, actor=a1)
    do(msk(2026, 3, 3, 11, 0), services.ticket_confirm, ticket=c, customer=customer)
    return day_of_tickets
