"""The take-next statement: pick, lock, assign and record in one round trip.

Run only by `tickets.services.ticket_take_next`. Per membership line (LATERAL), the first
waiting ticket in queue order from the partial index `tickets_waiting_queue`, locked with
SKIP LOCKED so that concurrent agents never wait for each other nor get the same ticket; of
those, the earliest. The history (ASSIGN, then STATUS) and the outbox rows for the
notifications are written by the same statement, their JSON laid out by the event builders
(`tickets.events`) once, when the statement is first built. Tickets whose administration
work waits for the customer to accept an extra charge are left in the queue: nobody can
work on them yet.
"""

from __future__ import annotations

import functools
import json
import re
import weakref
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.models import User
from queues.models import Line
from queues.policy import WAITING_STATUSES
from tickets import events
from tickets.models import PackageTask, Status, Ticket, TicketEvent

TAKE_NEXT_TEMPLATE = """
WITH candidate AS (
    SELECT waiting.id, waiting.status, waiting.line_code
    FROM queues_linemembership membership
    JOIN queues_line line ON line.id = membership.line_id AND line.is_active
    CROSS JOIN LATERAL (
        SELECT ticket.id, ticket.status, ticket.virtual_time, line.code AS line_code
        FROM tickets_ticket ticket
        WHERE ticket.line_id = membership.line_id
          AND ticket.status IN (__WAITING__)
          AND ticket.assignee_id IS NULL
          AND ticket.package_task <> '__EXTRA_PENDING__'
        ORDER BY ticket.virtual_time, ticket.id
        LIMIT 1
        FOR UPDATE OF ticket SKIP LOCKED
    ) waiting
    WHERE membership.user_id = %(agent)s AND (%(line)s::bigint IS NULL OR membership.line_id = %(line)s::bigint)
    ORDER BY waiting.virtual_time, waiting.id
    LIMIT 1
), taken AS (
    UPDATE tickets_ticket ticket
    SET assignee_id = %(agent)s, status = '__IN_PROGRESS__', updated_at = %(now)s
    FROM candidate
    WHERE ticket.id = candidate.id
    RETURNING ticket.id, ticket.number, ticket.status, ticket.assignee_id, ticket.line_id, ticket.customer_id,
              ticket.urgency, ticket.queued_at, ticket.virtual_time, ticket.credit_minutes, ticket.updated_at,
              ticket.resolution_paused_minutes IS NOT NULL
              OR (ticket.sla_commitment = '{}'::jsonb AND EXISTS (SELECT 1 FROM sla_slatarget)) AS sla_stale,
              candidate.status AS old_status, candidate.line_code
), history AS (
    INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, data, created_at)
    SELECT id, '__ASSIGN_KIND__', %(agent)s, __ASSIGN_DATA__, %(now)s
    FROM taken
    UNION ALL
    SELECT id, '__STATUS_KIND__', %(agent)s, __STATUS_DATA__, %(now)s
    FROM taken
    RETURNING id, kind
), outbox AS (
    INSERT INTO tickets_eventoutbox (event_id, created_at)
    SELECT id, %(now)s FROM history WHERE kind = ANY(%(dispatch)s::text[])
)
SELECT sla_stale, id, number, status, assignee_id, line_id, customer_id, urgency, queued_at, virtual_time,
       credit_minutes, updated_at
FROM taken
"""
# The Ticket fields the statement returns after `sla_stale`, in order.
TAKE_NEXT_FIELDS = (
    "id", "number", "status", "assignee_id", "line_id", "customer_id", "urgency", "queued_at", "virtual_time",
    "credit_minutes", "updated_at",
)  # fmt: skip
TAKE_NEXT_PARAMETERS = (
    ("agent", "bigint"), ("line", "bigint"), ("now", "timestamptz"), ("username", "text"), ("dispatch", "text[]"),
)  # fmt: skip
TAKE_NEXT_EXECUTE = "EXECUTE helpdesk_take_next (" + ", ".join(["%s"] * len(TAKE_NEXT_PARAMETERS)) + ")"

# Stand-ins for the values only the statement knows, given to the builders and replaced by
# the statement's own expressions in the JSON they lay out.
_USERNAME, _LINE, _OLD_STATUS = "\x00username", "\x00line", "\x00old-status"
_EXPRESSIONS = {_USERNAME: "%(username)s::text", _LINE: "line_code", _OLD_STATUS: "old_status"}
_LITERAL = re.compile(r"^[a-z_]+$")


def _literal(value: str) -> str:
    if not _LITERAL.match(value):
        raise ValueError(f"not a plain SQL literal: {value!r}")
    return value


def _jsonb(event: TicketEvent) -> str:
    """The event's data as a jsonb expression: a stand-in becomes the statement's expression,
    any other value a jsonb literal."""
    parts = []
    for key, value in event.data.items():
        expression = _EXPRESSIONS.get(value) if isinstance(value, str) else None
        if expression is None:
            expression = "'" + json.dumps(value).replace("'", "''") + "'::jsonb"
        parts.append(f"'{_literal(key)}', {expression}")
    return "jsonb_build_object(" + ", ".join(parts) + ")"


def _take_events() -> tuple[User, TicketEvent, TicketEvent]:
    """The take's two events as the builders make them, for an agent taking a waiting ticket."""
    agent = User(username=_USERNAME)
    ticket = Ticket(line=Line(code=_LINE), status=_OLD_STATUS)
    assign = events.build_assignee_changed(ticket, agent, old=None, new=agent)
    status = events.build_status_changed(ticket, agent, old=_OLD_STATUS, new=Status.IN_PROGRESS)
    return agent, assign, status


@functools.cache
def take_next_sql() -> str:
    """The statement, laid out once per process."""
    _agent, assign, status = _take_events()
    replacements = {
        "__WAITING__": ", ".join(f"'{_literal(status)}'" for status in WAITING_STATUSES),
        "__EXTRA_PENDING__": _literal(PackageTask.EXTRA_PENDING),
        "__IN_PROGRESS__": _literal(Status.IN_PROGRESS),
        "__ASSIGN_KIND__": _literal(assign.kind),
        "__ASSIGN_DATA__": _jsonb(assign),
        "__STATUS_KIND__": _literal(status.kind),
        "__STATUS_DATA__": _jsonb(status),
    }
    sql = TAKE_NEXT_TEMPLATE
    for marker, value in replacements.items():
        sql = sql.replace(marker, value)
    return sql


@functools.cache
def take_next_dispatch() -> list[str]:
    """The kinds among the take's two events that the notifications must look at. The same for
    every take: the agent assigns the ticket to themselves (see tickets.events.needs_dispatch)."""
    agent, assign, status = _take_events()
    return [str(event.kind) for event in (assign, status) if events.needs_dispatch(event.kind, agent, event.data)]


# Prepared on a connection's second take (planning the statement costs about as much as running
# it): a connection opened for one request and closed after it never pays for the PREPARE.
_connections_seen: weakref.WeakSet = weakref.WeakSet()
_connections_prepared: weakref.WeakSet = weakref.WeakSet()


def run_take_next(db: BaseDatabaseWrapper, params: dict[str, Any]) -> tuple | None:
    """The statement's row (sla_stale, then TAKE_NEXT_FIELDS), or None when nothing was taken."""
    db.ensure_connection()
    raw = db.connection
    if not settings.PREPARED_STATEMENTS or raw not in _connections_seen:
        _connections_seen.add(raw)
        with db.cursor() as cursor:
            cursor.execute(take_next_sql(), params)
            return cursor.fetchone()
    if raw not in _connections_prepared:
        body = take_next_sql()
        for number, (name, _type) in enumerate(TAKE_NEXT_PARAMETERS, start=1):
            body = body.replace(f"%({name})s", f"${number}")
        types = ", ".join(sql_type for _name, sql_type in TAKE_NEXT_PARAMETERS)
        with db.cursor() as cursor:
            cursor.execute(f"PREPARE helpdesk_take_next ({types}) AS {body}")
        _connections_prepared.add(raw)
    values = [params[name] for name, _type in TAKE_NEXT_PARAMETERS]
    if db.queries_logged:
        with db.cursor() as cursor:
            cursor.execute(TAKE_NEXT_EXECUTE, values)
            return cursor.fetchone()
    # Nobody records the queries: psycopg2's cursor straight away, with Django's error classes
    # (Django's cursor wrapper cost a tenth of the take's p99 with 16 agents taking back to back).
    with db.wrap_database_errors, raw.cursor() as cursor:
        cursor.execute(TAKE_NEXT_EXECUTE, values)
        return cursor.fetchone()


@functools.cache
def take_next_row_template() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Every concrete Ticket field in the model's order, and where its value stands in the
    statement's row (-1: not returned, loaded on first use). With a value for every field,
    Model.from_db builds the ticket without matching names."""
    names = tuple(field.attname for field in Ticket._meta.concrete_fields)
    return names, tuple(TAKE_NEXT_FIELDS.index(name) + 1 if name in TAKE_NEXT_FIELDS else -1 for name in names)
