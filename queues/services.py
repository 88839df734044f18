"""Money and the queue: buying a boost and crediting the balance.

The balance is an append-only ledger (`BalanceEntry`). A boost is charged to the ledger here
and then applied to the ticket by the ticket services (`tickets.services.ticket_apply_boost`),
the only code that writes a ticket and its history; the reads (positions, waits, quotes,
the balance) are in `queues.selectors`, the arithmetic of the order in `queues.policy`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.errors import Conflict, DomainError
from queues import billing
from queues.models import BalanceEntry, Boost
from queues.selectors import boost_quote
from tickets import services as ticket_services
from tickets.models import Ticket


@transaction.atomic
def boost_buy(*, ticket: Ticket, customer: User, kind: str, idempotency_key: str) -> Boost:
    """Charge the balance and move the ticket up. The same key never charges twice."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise DomainError(_("A boost needs an idempotency key of 1 to 100 characters."), field="idempotency_key")
    # Serialise purchases of one customer (the balance check, and a second click that waited
    # for the first must then find the first's boost).
    User.objects.select_for_update().filter(pk=customer.pk).first()
    existing = Boost.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.ticket_id != ticket.id or existing.customer_id != customer.id or existing.kind != kind:
            raise Conflict(_("This idempotency key was used for another purchase."), code="idempotency_conflict")
        return existing
    # The ticket stays locked from the quote to the move, so the quoted place is the place given.
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("line").get(pk=ticket.pk)
    quote = boost_quote(ticket=ticket, customer=customer, kind=kind)
    if not quote.moves:
        raise Conflict(
            _("This boost would not change your place in the queue; nothing is charged."), code="nothing_to_gain"
        )
    if quote.balance < quote.price:
        raise DomainError(
            _("Your balance is %(balance)s %(currency)s; this boost costs %(price)s %(currency)s.")
            % {"balance": quote.balance, "price": quote.price, "currency": quote.currency},
            code="insufficient_balance",
        )
    try:
        with transaction.atomic():
            entry = BalanceEntry.objects.create(
                customer=customer,
                kind=BalanceEntry.Kind.CHARGE,
                amount=-quote.price,
                currency=quote.currency,
                description=f"Boost ({kind}) for ticket #{ticket.number}",
                reference=f"boost:{key}",
            )
            boost = Boost.objects.create(
                ticket=ticket,
                customer=customer,
                kind=kind,
                price=quote.price,
                credit_minutes=quote.credit_minutes,
                idempotency_key=key,
                ledger_entry=entry,
            )
    except IntegrityError:
        # A concurrent click with the same key won the race: answer with its purchase.
        return Boost.objects.get(idempotency_key=key)
    ticket_services.ticket_apply_boost(ticket=ticket, customer=customer, quote=quote)
    billing.charge_recorded(entry)
    return boost


@transaction.atomic
def balance_credit(*, customer: User, amount: Decimal, description: str, reference: str | None = None) -> BalanceEntry:
    """Money in (a payment from the provider's billing, a goodwill credit)."""
    if amount <= 0:
        raise DomainError(_("A credit must be positive."), field="amount")
    return BalanceEntry.objects.create(
        customer=customer,
        kind=BalanceEntry.Kind.CREDIT,
        amount=amount,
        description=description[:200],
        reference=reference or f"credit:{uuid.uuid4()}",
    )
