"""A ticket's history as people read it: values by their labels, reasons in the reader's language.

Events store machine values (`waiting_agent`, a line's code, a username) and the helpdesk's
own reasons as a code with its values (`tickets.events.system_reason`), beside the English
sentence for the API and the logs. What an agent typed as a reason is shown as typed.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language

from tickets.events import render_reason
from tickets.models import EventKind, PackageTask, Status, SystemReason, TicketEvent, Urgency

# Before reasons had codes, status changes and wiped access data stored the helpdesk's own
# reasons as these English words; such events are never rewritten, so they are still read.
LEGACY_REASON_KINDS = (EventKind.STATUS, EventKind.SECRET_WIPE)
LEGACY_REASONS = {
    "released": SystemReason.RELEASED,
    "customer replied": SystemReason.CUSTOMER_REPLIED,
    "customer called": SystemReason.CUSTOMER_CALLED,
    "transferred": SystemReason.TRANSFERRED,
    "confirmed by the customer": SystemReason.CONFIRMED,
    "reopened by the customer": SystemReason.REOPENED,
    "ticket closed": SystemReason.TICKET_CLOSED,
    "extra charge accepted": SystemReason.EXTRA_CHARGE_ACCEPTED,
    "no answer from the customer": SystemReason.NO_ANSWER,
    "solution not confirmed in time": SystemReason.NOT_CONFIRMED,
}


def reason_text(event: TicketEvent) -> str:
    """The event's reason in the current language ('' when it has none)."""
    data = event.data or {}
    reason = data.get("reason") or ""
    if data.get("reason_code") in SystemReason.values:
        try:
            return render_reason(data["reason_code"], data.get("reason_params") or {})
        except (KeyError, TypeError, ValueError):
            return reason  # values that no longer fit the sentence: the stored English stands
    if event.kind in LEGACY_REASON_KINDS and reason in LEGACY_REASONS:
        return render_reason(LEGACY_REASONS[reason], {})
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
    elif event.kind == EventKind.PACKAGE_TASK:
        old, new = (_label(PackageTask, value) if value else None for value in (old, new))
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
    if event.kind in (EventKind.TAG, EventKind.LINK):
        # Added or taken off: "+ vip", "− #100234".
        return f"+ {new}" if new else f"− {old}"
    return f"{old or '—'} → {new or '—'}"
