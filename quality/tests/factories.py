"""A ticket with agents' replies to rate, for the quality tests."""

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, ManagerFactory, UserFactory
from queues.models import Line
from tickets import services as ticket_services


def world() -> dict:
    """A first line with two agents, a customer's ticket answered twice by agent `ann`, another
    customer, a quality reviewer, a manager and an administrator."""
    line = Line.objects.filter(code="first-line").first() or Line.objects.create(
        code="first-line", name="First line", name_ru="Первая линия", kind=Line.Kind.TIER, level=1
    )
    ann = AgentFactory(username="ann")
    bob = AgentFactory(username="bob")
    for agent in (ann, bob):
        line.memberships.create(user=agent)
    customer = CustomerFactory(username="carol")
    ticket = ticket_services.ticket_create(customer=customer, subject="Server down", body="My server is down.")
    first = ticket_services.message_add(ticket=ticket, author=ann, body="Restart it from the panel.")
    second = ticket_services.message_add(ticket=ticket, author=ann, body="Did it help?", wait_for_customer=True)
    note = ticket_services.message_add(ticket=ticket, author=ann, body="Customer seems upset.", kind="note")
    own = ticket_services.message_add(ticket=ticket, author=customer, body="No, it did not.")
    return {
        "line": line,
        "ann": ann,
        "bob": bob,
        "customer": customer,
        "other_customer": CustomerFactory(username="dave"),
        "reviewer": UserFactory(username="rita", role=Role.QUALITY),
        "manager": ManagerFactory(username="max"),
        "admin": UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True),
        "ticket": ticket,
        "reply": first,
        "second": second,
        "note": note,
        "customer_message": own,
    }
