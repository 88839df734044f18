"""Data for the fault and multi-process tests: many tickets due for the SLA sweep at once, and
what the sweep left on them."""

import datetime as dt

from sla.models import SlaRecord
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.tests.helpers import make_ticket

# A ticket the sweep acted on fully: its warning and breach recorded, and the events of the
# warning, the breach and the escalation the breach gave. One it did not touch has nothing.
SWEPT = (["breach", "warning"], ["breach", "escalation", "warning"])
UNTOUCHED: tuple[list[str], list[str]] = ([], [])


def tickets_due(customer, count: int, due: dt.datetime) -> list[int]:
    """`count` tickets of `customer` whose first response is overdue: one filed through the
    services, the rest copies of its row (the sweep reads only the ticket). Their ids."""
    first = make_ticket(customer)
    skip = {"id", "number"}
    fields = {f.attname: getattr(first, f.attname) for f in Ticket._meta.concrete_fields if f.attname not in skip}
    Ticket.objects.bulk_create([Ticket(**fields) for _ in range(count - 1)], batch_size=500)
    Ticket.objects.filter(customer=customer).update(
        first_response_due=due, first_response_warn_at=due, sla_next_check_at=due
    )
    return list(Ticket.objects.filter(customer=customer).values_list("id", flat=True))


def sla_state(ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    """Each ticket's SLA records (kinds) and the actions its SLA events name, sorted."""
    state: dict[int, tuple[list[str], list[str]]] = {ticket_id: ([], []) for ticket_id in ids}
    for ticket_id, kind in SlaRecord.objects.filter(ticket_id__in=ids).values_list("ticket_id", "kind"):
        state[ticket_id][0].append(kind)
    events = TicketEvent.objects.filter(ticket_id__in=ids, kind=EventKind.SLA)
    for ticket_id, action in events.values_list("ticket_id", "data__action"):
        state[ticket_id][1].append(action)
    return {ticket_id: (sorted(records), sorted(actions)) for ticket_id, (records, actions) in state.items()}


def still_due(ids: list[int], now: dt.datetime) -> bool:
    return Ticket.objects.filter(id__in=ids, sla_next_check_at__lte=now).exists()
