"""Bulk actions of the workspace's list: one action on many tickets, ticket by ticket.

An orchestrator (docs/architecture.md#layers, layer 4): it finds the tickets the agent may see,
then calls the ticket service of the action once per ticket, each in its own transaction with
its own audit event and its own permission check. A ticket the agent may not change, or that
is in the wrong state, is refused alone: the others go through, and the result says which
ticket went which way and why (partial success, never all-or-nothing and never silent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from helpdesk.errors import DomainError, NotFound
from queues.models import Line
from tickets import services
from tickets.models import Ticket, Urgency
from tickets.selectors import tickets_visible_to

BULK_MAX = 100

ACTIONS = {
    "take": gettext_lazy("Take"),
    "transfer": gettext_lazy("Transfer"),
    "urgency": gettext_lazy("Change urgency"),
    "tag": gettext_lazy("Add a tag"),
    "resolve": gettext_lazy("Resolve"),
    "merge": gettext_lazy("Merge"),
}


@dataclass
class BulkResult:
    """What happened to each ticket: `done` the numbers changed, `failed` number → why not."""

    action: str
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    failed_codes: dict[int, str] = field(default_factory=dict)
    into: int | None = None

    @property
    def complete(self) -> bool:
        return not self.failed


def _tickets(actor: User, numbers: list[int]) -> tuple[list[Ticket], list[int]]:
    """The tickets the actor may see, in the order asked; the numbers of those they may not."""
    found = {
        ticket.number: ticket
        for ticket in tickets_visible_to(actor).select_related("line", "customer").filter(number__in=numbers)
    }
    return [found[number] for number in numbers if number in found], [n for n in numbers if n not in found]


def _clean_numbers(numbers: Any) -> list[int]:
    if not isinstance(numbers, (list, tuple)) or not numbers:
        raise DomainError(_("Select at least one ticket."), code="required", field="tickets")
    clean: list[int] = []
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 2**63:
            raise DomainError(_("Ticket numbers are whole numbers."), code="invalid", field="tickets")
        if number not in clean:
            clean.append(number)
    if len(clean) > BULK_MAX:
        raise DomainError(_("At most %(max)d tickets at a time.") % {"max": BULK_MAX}, code="too_many", field="tickets")
    return clean


def bulk_apply(
    *,
    actor: User,
    action: str,
    numbers: list[int],
    line: str = "",
    reason: str = "",
    urgency: str = "",
    tag: str = "",
    into: int | None = None,
) -> BulkResult:
    """Run `action` on every ticket numbered in `numbers`, one service call each.

    take: the actor takes each; transfer: to the line coded `line`, with `reason`; urgency: to
    `urgency`, with `reason`; tag: puts `tag` on each; resolve: marks each solved; merge: every
    other ticket into the one numbered `into` (the first selected when not given)."""
    if action not in ACTIONS:
        raise DomainError(_("Unknown action."), code="invalid", field="action")
    numbers = _clean_numbers(numbers)
    result = BulkResult(action=action)
    tickets, unseen = _tickets(actor, numbers)
    for number in unseen:
        result.failed[number] = str(_("No such ticket."))
        result.failed_codes[number] = NotFound.code
    act: Callable[[Ticket], Any]
    if action == "take":

        def act(ticket: Ticket) -> Any:
            return services.ticket_take(ticket=ticket, agent=actor)

    elif action == "transfer":
        to_line = Line.objects.filter(code=line, is_active=True).first() if line else None
        if to_line is None:
            raise DomainError(_("Choose the line to transfer to."), code="required", field="line")
        if not (reason or "").strip():
            raise DomainError(_("Give a reason for the transfer."), code="required", field="reason")

        def act(ticket: Ticket) -> Any:
            return services.ticket_transfer(ticket=ticket, actor=actor, to_line=to_line, reason=reason)

    elif action == "urgency":
        if urgency not in Urgency.values:
            raise DomainError(_("Choose the urgency."), code="required", field="urgency")
        if not (reason or "").strip():
            raise DomainError(_("Give a reason for the change of urgency."), code="required", field="reason")

        def act(ticket: Ticket) -> Any:
            return services.ticket_set_urgency(ticket=ticket, actor=actor, urgency=urgency, reason=reason)

    elif action == "tag":
        name = services.tag_name_clean(tag)

        def act(ticket: Ticket) -> Any:
            return services.ticket_tag(ticket=ticket, actor=actor, name=name)

    elif action == "resolve":

        def act(ticket: Ticket) -> Any:
            return services.ticket_resolve(ticket=ticket, actor=actor)

    else:  # merge
        if len(numbers) < 2:
            raise DomainError(_("Select at least two tickets to merge."), code="required", field="tickets")
        survivor_number = into if into is not None else numbers[0]
        survivor = next((ticket for ticket in tickets if ticket.number == survivor_number), None)
        if survivor is None:
            raise DomainError(
                _("Choose which of the selected tickets the others are merged into."), code="invalid", field="into"
            )
        result.into = survivor.number
        tickets = [ticket for ticket in tickets if ticket.pk != survivor.pk]
        target = survivor

        def act(ticket: Ticket) -> Any:
            return services.ticket_merge(ticket=ticket, into=target, actor=actor)

    for ticket in tickets:
        try:
            act(ticket)
        except DomainError as error:
            result.failed[ticket.number] = str(error.message)
            result.failed_codes[ticket.number] = error.code
        else:
            result.done.append(ticket.number)
    return result
