"""A ticket's history as people read it: values by their labels, reasons in the reader's language.

Events store machine values (`waiting_agent`, a line's code, a username) and the helpdesk's
own reasons in English (with a code and the values where the reason has values in it).
What an agent typed as a reason is shown as typed.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy, override

from tickets.models import EventKind, Status, TicketEvent, Urgency

# Reasons the helpdesk writes itself on status changes and wiped access data, stored in
# English as they are here: shown in the reader's language. (Other kinds carry what an agent
# typed; an agent's reason for releasing a ticket that reads exactly like one of these is
# shown translated too.)
SYSTEM_REASON_KINDS = (EventKind.STATUS, EventKind.SECRET_WIPE)
SYSTEM_REASONS = {
    "released": gettext_lazy("released"),
    "customer replied": gettext_lazy("the customer replied"),
    "customer called": gettext_lazy("the customer called"),
    "transferred": gettext_lazy("transferred to another line"),
    "confirmed by the customer": gettext_lazy("confirmed by the customer"),
    "reopened by the customer": gettext_lazy("reopened by the customer"),
    "ticket closed": gettext_lazy("the ticket was closed"),
    "extra charge accepted": gettext_lazy("the extra charge was accepted"),
    "no answer from the customer": gettext_lazy("no answer from the customer"),
    "solution not confirmed in time": gettext_lazy("the solution was not confirmed in time"),
}
# Reasons with values in them: stored in English with a code and the values (`system_reason`).
REASON_TEMPLATES = {
    "sla_breach": gettext_lazy("Escalated: the deadline for the %(target)s passed."),
    "first_line_timer": gettext_lazy("No first response within %(minutes)s working minutes."),
    "mailbox": gettext_lazy("Sent to %(address)s"),
}


def system_reason(code: str, **params) -> dict:
    """The event fields of a reason with values in it: `reason` in English (for the API and the
    logs), `reason_code` and `reason_params` to show it in the reader's language."""
    if code not in REASON_TEMPLATES:
        raise ValueError(f"unknown system reason {code!r}")
    with override("en"):
        reason = _render(code, params)
    return {"reason": reason, "reason_code": code, "reason_params": params}


def _render(code: str, params: dict) -> str:
    shown = dict(params)
    if code == "sla_breach":
        from sla.models import SlaRecord

        shown["target"] = str(SlaRecord.Target(shown["target"]).label).lower()
    return str(REASON_TEMPLATES[code]) % shown


def reason_text(event: TicketEvent) -> str:
    """The event's reason in the current language ('' when it has none)."""
    data = event.data or {}
    reason = data.get("reason") or ""
    if data.get("reason_code") in REASON_TEMPLATES:
        try:
            return _render(data["reason_code"], data.get("reason_params") or {})
        except (KeyError, TypeError, ValueError):
            return reason  # values that no longer fit the template: the stored English stands
    if event.kind in SYSTEM_REASON_KINDS and reason in SYSTEM_REASONS:
        return str(SYSTEM_REASONS[reason])
    return reason


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _moment(value: str) -> str:
    """An ISO instant stored in the history, as the reader's locale writes it, in local time."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    return date_format(timezone.localtime(moment) if timezone.is_aware(moment) else moment, "SHORT_DATETIME_FORMAT")


def change_text(event: TicketEvent) -> str:
    """'old → new' with the values by their labels, or '' for kinds that change no value."""
    data = event.data or {}
    if "old" not in data and "new" not in data:
        return ""
    old, new = data.get("old"), data.get("new")
    if event.kind == EventKind.STATUS:
        old, new = (_label(Status, value) if value else None for value in (old, new))
    elif event.kind == EventKind.URGENCY:
        old, new = (_label(Urgency, value) if value else None for value in (old, new))
    elif event.kind == EventKind.PROMISE:
        old, new = (_moment(value) if value else None for value in (old, new))
    elif event.kind == EventKind.TRANSFER:
        # By the line's name in the reader's language (tickets.selectors.ticket_history attaches
        # the lines), else by the name it had then.
        lines, language = getattr(event, "lines", {}), get_language()
        old, new = (
            lines[code].localized_name(language) if code in lines else data.get(name_key) or code
            for code, name_key in ((old, "old_name"), (new, "new_name"))
        )
    if not old and not new:
        return ""
    return f"{old or '—'} → {new or '—'}"
