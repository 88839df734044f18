"""What people see of the deadlines: the nearest one, the time left, the commitment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sla.deadlines import OPEN, RUNNING


@dataclass(frozen=True)
class Deadline:
    target: str  # first_response | next_response | resolution
    due: dt.datetime
    warn_at: dt.datetime | None
    seconds_left: int

    @property
    def state(self) -> str:
        if self.seconds_left < 0:
            return "overdue"
        if self.warn_at is not None and timezone.now() >= self.warn_at:
            return "warning"
        return "ok"


def nearest_deadline(ticket, now: dt.datetime | None = None) -> Deadline | None:
    """The deadline that matters now for an open ticket, or None."""
    now = now or timezone.now()
    candidates = []
    if ticket.status in OPEN and ticket.first_response_at is None and ticket.first_response_due:
        candidates.append(("first_response", ticket.first_response_due, ticket.first_response_warn_at))
    if ticket.status in OPEN and ticket.next_response_due:
        candidates.append(("next_response", ticket.next_response_due, ticket.next_response_warn_at))
    if ticket.status in RUNNING and ticket.resolution_due:
        candidates.append(("resolution", ticket.resolution_due, ticket.resolution_warn_at))
    if not candidates:
        return None
    target, due, warn_at = min(candidates, key=lambda item: item[1])
    return Deadline(target, due, warn_at, int((due - now).total_seconds()))


def commitment_text(ticket) -> str:
    """ "We answer within 5 working hours": the promise of the plan that applies to the ticket."""
    commitment = ticket.sla_commitment or {}
    if not commitment:
        return ""
    minutes = commitment["first_response"]
    if minutes >= 120 and minutes % 60 == 0:
        amount = ngettext("%(n)d hour", "%(n)d hours", minutes // 60) % {"n": minutes // 60}
    else:
        amount = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    if commitment.get("limited"):
        return _("Limited service: we answer within %(time)s.") % {"time": amount}
    if commitment.get("calendar_24x7"):
        return _("We answer within %(time)s, around the clock.") % {"time": amount}
    return _("We answer within %(time)s of working time.") % {"time": amount}


def clock_note(ticket, now: dt.datetime | None = None) -> str:
    """What the badge's time left counts, beside the commitment: "Due Mon 8 Dec, 14:00; the clock
    counts working hours only." The badge shows calendar time to a deadline that was worked out
    in working time, so "24 working hours" and "4 d 23 h left" agree once this is said. The
    moment is shown in the reader's time zone (the one activated for the request)."""
    deadline = nearest_deadline(ticket, now)
    if deadline is None:
        return ""
    due = formats.date_format(timezone.localtime(deadline.due), "SHORT_DATETIME_FORMAT")
    commitment = ticket.sla_commitment or {}
    if commitment.get("calendar_24x7") or not commitment:
        return _("Due %(due)s.") % {"due": due}
    return _("Due %(due)s: the clock counts working hours only.") % {"due": due}
