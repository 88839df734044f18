"""How long waiting tickets were overtaken: the queue's starvation bound, as the history shows it.

Pure. A ticket waits in a line while it is there (a stint), has no assignee, and its status
is new or waiting for an agent; it has waited since the moment all three last became true.
When an agent takes ticket A, every ticket still waiting in the same line that started waiting
before A was overtaken by the difference of the two waiting starts. The weighted queue keeps
that difference under the policy's `max_credit_minutes`; the manager's fairness page shows the
largest one of each day beside the bound.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass

from reports.facts import Event, Stint

WAITING = ("new", "waiting_agent")


@dataclass(frozen=True)
class Overtaking:
    takes: int
    max_seconds: int
    ticket_id: int | None  # the ticket that waited longest behind a take


def waiting_spans(
    ticket_id: int, line_id: int, stints: list[Stint], events: list[Event]
) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """The spans in which the ticket waited in the line, from its stints, statuses and assignees."""
    spans: list[tuple[dt.datetime, dt.datetime | None]] = []
    events = sorted(events, key=lambda e: e.at)
    for stint in stints:
        if stint.line_id != line_id:
            continue
        status, assigned = "new", False
        for event in events:
            if event.at > stint.entered_at:
                break
            status, assigned = _apply(event, status, assigned)
        waiting_since = stint.entered_at if status in WAITING and not assigned else None
        for event in events:
            if event.at <= stint.entered_at:
                continue
            if stint.left_at is not None and event.at >= stint.left_at:
                break
            status, assigned = _apply(event, status, assigned)
            waits = status in WAITING and not assigned
            if waits and waiting_since is None:
                waiting_since = event.at
            elif not waits and waiting_since is not None:
                spans.append((waiting_since, event.at))
                waiting_since = None
        if waiting_since is not None:
            spans.append((waiting_since, stint.left_at))
    return spans


def _apply(event: Event, status: str, assigned: bool) -> tuple[str, bool]:
    if event.kind == "status":
        return event.data.get("new", status), assigned
    if event.kind == "assign":
        return status, bool(event.data.get("new"))
    return status, assigned


def overtaking(
    *,
    line_id: int,
    line_code: str,
    stints: dict[int, list[Stint]],
    events: dict[int, list[Event]],
    start: dt.datetime,
    end: dt.datetime,
) -> Overtaking:
    """Takes in the line within [start, end) and the longest time a waiting ticket was overtaken."""
    marks: list[tuple[dt.datetime, int, int, dt.datetime | None]] = []  # (at, order, ticket, since)
    since_of_take: dict[tuple[int, dt.datetime], dt.datetime] = {}
    for ticket_id, ticket_stints in stints.items():
        for since, until in waiting_spans(ticket_id, line_id, ticket_stints, events.get(ticket_id, [])):
            if until is not None and until < start:
                continue
            marks.append((since, 1, ticket_id, since))
            if until is not None:
                # Leaving the queue sorts before a take at the same instant: the taken ticket is gone.
                marks.append((until, 0, ticket_id, since))
                since_of_take[(ticket_id, until)] = since
    for ticket_id, ticket_events in events.items():
        for event in ticket_events:
            if (
                event.kind == "assign"
                and event.data.get("new")
                and event.data.get("line") == line_code
                and start <= event.at < end
            ):
                marks.append((event.at, 2, ticket_id, None))
    marks.sort(key=lambda mark: (mark[0], mark[1]))
    waiting: list[tuple[dt.datetime, int]] = []
    gone: set[tuple[dt.datetime, int]] = set()
    takes, longest, longest_ticket = 0, 0, None
    for at, order, ticket_id, since in marks:
        if order == 1:
            heapq.heappush(waiting, (since, ticket_id))
        elif order == 0:
            gone.add((since, ticket_id))
        else:
            takes += 1
            taken_since = since_of_take.get((ticket_id, at))
            while waiting and waiting[0] in gone:
                gone.discard(heapq.heappop(waiting))
            if taken_since is None or not waiting:
                continue
            oldest_since, oldest_ticket = waiting[0]
            seconds = int((taken_since - oldest_since).total_seconds())
            if seconds > longest:
                longest, longest_ticket = seconds, oldest_ticket
    return Overtaking(takes=takes, max_seconds=longest, ticket_id=longest_ticket)
