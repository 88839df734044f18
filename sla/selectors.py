"""Reads of the service levels for the pages and the API."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sla.calendar import business_minutes_between
from sla.deadlines import calendar_for_line
from tickets.models import Ticket


def line_clocks(*, ticket: Ticket, now: dt.datetime | None = None) -> list[dict]:
    """Business minutes each line held the ticket, in that line's working hours."""
    now = now or timezone.now()
    clocks = []
    for stint in ticket.stints.select_related("line").order_by("entered_at", "id"):
        calendar = calendar_for_line(stint.line)
        clocks.append(
            {
                "line": stint.line,
                "entered_at": stint.entered_at,
                "left_at": stint.left_at,
                "business_minutes": round(business_minutes_between(calendar, stint.entered_at, stint.left_at or now)),
            }
        )
    return clocks
