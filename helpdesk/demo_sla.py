"""The demo history's service levels: the deadlines and the records the SLA sweep would have left.

The demo's tickets are written in bulk with their whole history (`helpdesk.demo`); the SLA
engine never ran over them, so without this no ticket would carry a commitment and the
dashboard's "targets met" would have nothing to count. For each ticket this takes the
commitment the engine takes when a ticket is filed (`sla.deadlines.commitment_for`: the
customer's plan, the urgency, the category's windows), its first-response and resolution
deadlines and warning moments in the business time of the line it was filed in (or around
the clock, as the commitment says), stores them on the ticket, and writes the warnings and
breaches the sweep would have recorded (`sla.models.SlaRecord`): a warning once a clock ran
past its warning share, a breach once it ran past its deadline (the first reply or the
resolution came later, or has not come yet), each at that moment, on the line that held the
ticket then. A ticket waiting for the customer stopped its resolution clock at its reply.
Open tickets get their next check, so the running sweep carries on from there.
"""

from __future__ import annotations

import datetime as dt
import json
from bisect import bisect_right
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from helpdesk import bulk
from queues.models import Line
from sla.calendar import Calendar, add_business_minutes
from sla.deadlines import calendar_for_line, commitment_for
from sla.models import SlaPolicy, SlaRecord
from tickets.models import LineStint, Status, Ticket

RUNNING = (Status.NEW, Status.WAITING_AGENT, Status.IN_PROGRESS)
# The sweep runs every minute or so: a record is written a little after its moment.
SWEEP_LAG = dt.timedelta(seconds=40)


def _holder(stints: list[tuple[dt.datetime, int]], at: dt.datetime, default: int) -> int:
    """The line that held the ticket at `at` (its last stint entered by then)."""
    index = bisect_right([entered for entered, _line in stints], at) - 1
    return stints[index][1] if index >= 0 else default


def history_now(until: dt.date) -> dt.datetime:
    """Where the demo's history stops: the end of `until`, or this moment when that is today."""
    end_of_day = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=zone()).astimezone(dt.UTC)
    return min(end_of_day, timezone.now())


def zone():
    return ZoneInfo(settings.TIME_ZONE)


def write_demo_sla(*, ticket_ids: list[int], now: dt.datetime) -> int:
    """Deadlines and SLA records for the demo's tickets as of `now`; returns the records written."""
    share = SlaPolicy.current().warn_at_share
    tickets = list(
        Ticket.objects.filter(id__in=ticket_ids)
        .order_by("id")
        .values_list(
            "id", "created_at", "first_response_at", "resolved_at", "status", "urgency", "category",
            "hardware_component", "customer_id", "customer__customer_profile__support_plan_id",
            "customer__customer_profile__admin_package_id", "line_id",
        )
    )  # fmt: skip
    stints: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for ticket_id, line_id, entered in (
        LineStint.objects.filter(ticket_id__in=ticket_ids)
        .order_by("entered_at")
        .values_list("ticket_id", "line_id", "entered_at")
    ):
        stints[ticket_id].append((entered, line_id))
    lines = {line.id: line for line in Line.objects.all()}
    around_the_clock = Calendar.twenty_four_seven(settings.TIME_ZONE)
    # The commitment depends on the plans, the urgency and the category: worked out once per kind.
    commitments: dict[tuple, dict | None] = {}
    rows, records = [], []
    for (
        ticket_id,
        created,
        answered,
        resolved,
        status,
        urgency,
        category,
        component,
        _c,
        plan,
        package,
        line,
    ) in tickets:
        key = (plan, package, urgency, category, component)
        if key not in commitments:
            ticket = Ticket.objects.select_related("customer__customer_profile__support_plan").get(id=ticket_id)
            found = commitment_for(ticket, created)
            commitments[key] = found.as_dict() if found else None
        commitment = commitments[key]
        if commitment is None:
            continue
        held = stints.get(ticket_id) or [(created, line)]
        filed_line = held[0][1]
        calendar = around_the_clock if commitment["calendar_24x7"] else calendar_for_line(lines[filed_line])
        clocks = {}
        for target, minutes in (
            ("first_response", commitment["first_response"]),
            ("resolution", commitment["resolution"]),
        ):
            clocks[target] = (
                add_business_minutes(calendar, created, minutes * share),
                add_business_minutes(calendar, created, minutes),
            )
        # Where each clock stopped (None: still running).
        stopped = {
            "first_response": answered,
            "resolution": resolved if resolved else (answered if status == Status.WAITING_CUSTOMER else None),
        }
        pending = []
        for target, (warn_at, due) in clocks.items():
            end = stopped[target] or now
            for kind, moment in ((SlaRecord.Kind.WARNING, warn_at), (SlaRecord.Kind.BREACH, due)):
                if moment < end and moment <= now:
                    records.append((ticket_id, kind, target, due, _holder(held, moment, line), moment + SWEEP_LAG))
                elif stopped[target] is None and moment > now:
                    pending.append(moment)
        next_check = min(pending) if pending and status in (*RUNNING, Status.WAITING_CUSTOMER) else None
        (fr_warn, fr_due), (res_warn, res_due) = clocks["first_response"], clocks["resolution"]
        rows.append((ticket_id, commitment, fr_warn, fr_due, res_warn, res_due, next_check))
    _store_deadlines(rows)
    return bulk.copy_rows(
        SlaRecord._meta.db_table, ["ticket_id", "kind", "target", "due_at", "line_id", "created_at"], records
    )


def _store_deadlines(rows: list[tuple]) -> None:
    """The tickets' commitments and deadlines, through a temporary table and one UPDATE (the
    demo's tickets are written in bulk too)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE demo_sla (ticket_id bigint, commitment jsonb, fr_warn timestamptz, "
            "fr_due timestamptz, res_warn timestamptz, res_due timestamptz, next_check timestamptz)"
        )
    bulk.copy_rows(
        "demo_sla",
        ["ticket_id", "commitment", "fr_warn", "fr_due", "res_warn", "res_due", "next_check"],
        ((row[0], json.dumps(row[1]), *row[2:]) for row in rows),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Ticket._meta.db_table} t SET sla_commitment = d.commitment,
                   first_response_warn_at = d.fr_warn, first_response_due = d.fr_due,
                   resolution_warn_at = d.res_warn, resolution_due = d.res_due, sla_next_check_at = d.next_check
               FROM demo_sla d WHERE t.id = d.ticket_id"""  # noqa: S608 - the table's own name
        )
        cursor.execute("DROP TABLE demo_sla")
