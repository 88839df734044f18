"""The workspace's list: what a saved view may filter on and sort by, and the views an agent sees.

A saved view (`tickets.models.SavedView`) stores its filters as JSON; `filters_clean` is the one
gate they pass, from the page's form, the API or the admin alike, so the list never reads a key
or a value it does not know. The order is one of `SORTS`, a whitelist of keys that each map to
columns with an index behind them (or to the open tickets alone, a few thousand rows even at a
million tickets): nothing a request sends reaches `ORDER BY` as it came.

The built-in views ("my open", "breaching today", "waiting for the customer over 3 days") are
defined here, not stored: every agent has them, and they change with the product.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from helpdesk.errors import DomainError, NotFound
from queues.models import Line
from tickets.models import (
    OPEN_SLA_DUE,
    OPEN_STATUS_RANK,
    OPEN_STATUSES,
    OPEN_URGENCY_RANK,
    Category,
    SavedView,
    Status,
    Tag,
    Ticket,
    TicketTag,
    Urgency,
)
from tickets.selectors import member_line_ids, ticket_list

# --- the filters -----------------------------------------------------------------------------

ASSIGNEES = ("me", "none", "others")
SLA_STATES = ("overdue", "due_today")
WAITING_DAYS_MAX = 365
SEARCH_MAX = 200
FILTER_KEYS = ("q", "status", "open", "line", "assignee", "urgency", "category", "tag", "sla", "waiting_days")


def _choices(value: Any, allowed: list[str], key: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not values or any(not isinstance(item, str) or item not in allowed for item in values):
        raise DomainError(_("Unknown value for “%(key)s”.") % {"key": key}, code="invalid", field=key)
    return sorted(set(values))


def filters_clean(raw: Any) -> dict[str, Any]:
    """A view's filters, checked: only known keys with values of their kind. Empty values are
    dropped. Raises DomainError naming the field at fault."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DomainError(_("Filters are an object of names and values."), code="invalid", field="filters")
    unknown = sorted(set(raw) - set(FILTER_KEYS))
    if unknown:
        raise DomainError(
            _("Unknown filter “%(key)s”.") % {"key": str(unknown[0])[:40]}, code="invalid", field="filters"
        )
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if value in (None, "", []):
            continue
        if key == "q":
            if not isinstance(value, str) or len(value) > SEARCH_MAX:
                raise DomainError(_("The search is text of at most 200 characters."), code="invalid", field=key)
            if value.strip():
                clean[key] = value.strip()
        elif key == "open":
            if not isinstance(value, bool):
                raise DomainError(_("“open” is true or false."), code="invalid", field=key)
            clean[key] = value
        elif key == "status":
            clean[key] = _choices(value, Status.values, key)
        elif key == "urgency":
            clean[key] = _choices(value, Urgency.values, key)
        elif key == "category":
            clean[key] = _choices(value, Category.values, key)
        elif key == "assignee":
            clean[key] = _choices(value, list(ASSIGNEES), key)[0]
        elif key == "sla":
            clean[key] = _choices(value, list(SLA_STATES), key)[0]
        elif key in ("line", "tag"):
            if not isinstance(value, str) or len(value) > 40:
                raise DomainError(_("Unknown value for “%(key)s”.") % {"key": key}, code="invalid", field=key)
            clean[key] = value.strip().lower() if key == "tag" else value.strip()
        elif key == "waiting_days":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= WAITING_DAYS_MAX:
                raise DomainError(
                    _("Days waiting is a whole number from 1 to 365."), code="invalid", field="waiting_days"
                )
            clean[key] = value
    return clean


# --- the order -------------------------------------------------------------------------------

# The same expressions as the open tickets' indexes (tickets.models), so the orders read them.
URGENCY_RANK = OPEN_URGENCY_RANK
STATUS_RANK = OPEN_STATUS_RANK
SLA_DUE = OPEN_SLA_DUE

# key -> label; "-key" sorts the other way. The default is the newest activity first.
SORTS = {
    "number": gettext_lazy("Number"),
    "created": gettext_lazy("Created"),
    "activity": gettext_lazy("Last activity"),
    "urgency": gettext_lazy("Urgency"),
    "status": gettext_lazy("Status"),
    "due": gettext_lazy("Deadline"),
}
DEFAULT_SORT = "-activity"


def sort_clean(raw: Any) -> str:
    """A sort key of SORTS, with "-" for descending; '' for the default."""
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str) or raw.removeprefix("-") not in SORTS:
        raise DomainError(_("Unknown order “%(key)s”.") % {"key": str(raw)[:40]}, code="invalid", field="sort")
    return raw


def _ordered(tickets: QuerySet[Ticket], sort: str) -> QuerySet[Ticket]:
    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    if key == "number":
        return tickets.order_by("-number" if descending else "number")
    if key == "created":
        return tickets.order_by(*(("-created_at", "-id") if descending else ("created_at", "id")))
    if key == "activity":
        return tickets.order_by(*(("-last_activity_at", "-id") if descending else ("last_activity_at", "id")))
    expression = {"urgency": URGENCY_RANK, "status": STATUS_RANK, "due": SLA_DUE}[key]
    ordered = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return tickets.order_by(ordered, "-last_activity_at", "-id")


# --- the list --------------------------------------------------------------------------------


def _end_of_today(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def workspace_tickets(
    *,
    user: User,
    filters: dict[str, Any],
    sort: str = "",
    now: dt.datetime | None = None,
    visible: QuerySet[Ticket] | None = None,
) -> QuerySet[Ticket]:
    """The workspace's list for these (clean) filters in this order, scoped by who asks
    (`visible`: `tickets_visible_to(user)`, when the caller has it already)."""
    now = now or timezone.now()
    statuses = filters.get("status") or []
    assignee = filters.get("assignee")
    tickets = ticket_list(
        user=user,
        visible=visible,
        search=filters.get("q"),
        status=statuses[0] if len(statuses) == 1 else None,
        line=filters.get("line"),
        assignee=assignee if assignee in ("me", "none") else None,
        open_only=bool(filters.get("open")) and not statuses,
    )
    if len(statuses) > 1:
        tickets = tickets.filter(status__in=statuses)
    if assignee == "others":
        tickets = tickets.filter(assignee__isnull=False).exclude(assignee=user)
    if filters.get("urgency"):
        tickets = tickets.filter(urgency__in=filters["urgency"])
    if filters.get("category"):
        tickets = tickets.filter(category__in=filters["category"])
    if filters.get("tag"):
        tagged = TicketTag.objects.filter(ticket=OuterRef("pk"), tag__name=filters["tag"])
        tickets = tickets.filter(Exists(tagged))
    if filters.get("sla"):
        limit = now if filters["sla"] == "overdue" else _end_of_today(now)
        tickets = tickets.filter(status__in=OPEN_STATUSES).alias(sla_due=SLA_DUE).filter(sla_due__lte=limit)
    if filters.get("waiting_days"):
        tickets = tickets.filter(last_activity_at__lt=now - dt.timedelta(days=filters["waiting_days"]))
    if filters.get("q") and not sort:
        return tickets  # the search's own order (best match first)
    return _ordered(tickets, sort or DEFAULT_SORT)


def capped_counts(querysets: list[QuerySet[Ticket]], cap: int | list[int]) -> list[int]:
    """How many tickets each list holds, each counted up to `cap` (a LIMIT, so a list of a
    hundred thousand tickets costs what its first `cap` rows cost; one cap for all, or one per
    list), all in one statement."""
    if not querysets:
        return []
    caps = cap if isinstance(cap, list) else [cap] * len(querysets)
    parts: list[str] = []
    params: list[Any] = []
    for index, (tickets, limit) in enumerate(zip(querysets, caps, strict=True)):
        sql, values = tickets.order_by().values("pk")[:limit].query.sql_with_params()
        # Only SQL Django compiled, with its values as parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted_{index})")  # noqa: S608
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return [int(value) for value in row]


# --- the views -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewEntry:
    """A view as the list shows it: built in (`key` a word), or saved (`key` its id)."""

    key: str
    name: str
    filters: dict[str, Any]
    sort: str = ""
    builtin: bool = False
    shared_line: Line | None = None
    saved: SavedView | None = field(default=None, compare=False)


BUILTIN_VIEWS = (
    ("my-open", gettext_lazy("My open"), {"assignee": "me", "open": True}, "due"),
    ("breaching-today", gettext_lazy("Breaching today"), {"sla": "due_today"}, "due"),
    (
        "waiting-customer",
        gettext_lazy("Waiting for the customer over 3 days"),
        {"status": [Status.WAITING_CUSTOMER], "waiting_days": 3},
        "activity",
    ),
)


def builtin_views() -> list[ViewEntry]:
    return [
        ViewEntry(key=key, name=str(name), filters=filters, sort=sort, builtin=True)
        for key, name, filters, sort in BUILTIN_VIEWS
    ]


def saved_views_visible_to(user: User) -> QuerySet[SavedView]:
    """The user's own views and those shared with their lines (management: with any line)."""
    if not user.is_authenticated or not user.is_support_staff:
        return SavedView.objects.none()
    shared = Q(line__isnull=False) if user.is_management else Q(line_id__in=member_line_ids(user))
    return SavedView.objects.filter(Q(created_by=user, line__isnull=True) | shared).select_related("line")


def views_for(*, user: User) -> list[ViewEntry]:
    """Built-in views first, then the user's own, then those shared with their lines."""
    saved = sorted(
        saved_views_visible_to(user), key=lambda view: (view.line_id is not None, view.position, view.name, view.id)
    )
    return builtin_views() + [
        ViewEntry(
            key=str(view.id), name=view.name, filters=view.filters, sort=view.sort, shared_line=view.line, saved=view
        )
        for view in saved
    ]


def view_get(*, user: User, key: str) -> ViewEntry:
    """A view the user may use, by its key; NotFound for anyone else's private view."""
    for view in builtin_views():
        if view.key == key:
            return view
    if not (key.isascii() and key.isdigit() and len(key) < 18):
        raise NotFound(_("No such view."))
    saved = saved_views_visible_to(user).filter(id=int(key)).first()
    if saved is None:
        raise NotFound(_("No such view."))
    return ViewEntry(
        key=key, name=saved.name, filters=saved.filters, sort=saved.sort, shared_line=saved.line, saved=saved
    )


def tags_in_use() -> list[Tag]:
    return list(Tag.objects.order_by("name")[:200])
