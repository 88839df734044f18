"""Tickets meet incidents: linked on filing (any channel), linked and unlinked in bulk by agents,
and parked behind the ordinary queue while they wait for the incident."""

import pytest

from accounts.tests.factories import AgentFactory, CustomerFactory
from mailin import services as mail_services
from mailin.models import Source
from mailin.tests.helpers import simple
from queues.policy import is_parked
from queues.selectors import queue_position
from queues.tests.factories import LineFactory
from status import services
from status.models import IncidentTicket, LinkVia
from status.tests.factories import open_incident, uses
from tickets import services as ticket_services
from tickets.models import EventKind, Status, Ticket
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db


def incident_events(ticket):
    return list(ticket.events.filter(kind=EventKind.INCIDENT).order_by("id").values_list("data", flat=True))


def test_a_ticket_naming_an_affected_component_is_linked_as_it_is_filed(routed, customer, agent, components):
    incident = open_incident(agent, components["msk"])
    ticket = make_ticket(customer, service="Cloud servers — Moscow (MSK-1)")
    link = IncidentTicket.objects.get(ticket=ticket)
    assert link.incident == incident and link.via == LinkVia.AUTO and link.linked_by is None
    [event] = incident_events(ticket)
    assert (
        event["incident"] == incident.id
        and event["new"] == f"#{incident.id} {incident.title}"
        and event["via"] == "auto"
    )
    assert ticket.events.get(kind=EventKind.INCIDENT).actor is None
    ticket.refresh_from_db()
    assert is_parked(ticket)


@pytest.mark.parametrize(
    ("service", "subject", "linked"),
    [
        ("msk1 vps 42", "Help", True),  # another name of the component
        ("", "Server in MSK-1 does not answer", True),  # the subject names it
        ("Москва (MSK-1)", "Не работает", True),  # the Russian name
        ("SPB-2", "Slow disk", False),  # a component the incident does not touch
        ("", "Invoice question", False),
        ("MSK-10", "Typo of another place", False),  # whole words only
    ],
)
def test_what_links_a_ticket_on_filing(routed, customer, agent, components, service, subject, linked):
    open_incident(agent, components["msk"])
    ticket = make_ticket(customer, service=service, subject=subject)
    assert IncidentTicket.objects.filter(ticket=ticket).exists() is linked


def test_naming_the_service_links_a_customer_who_uses_an_affected_part_of_it(routed, agent, components):
    open_incident(agent, components["msk"])
    in_moscow, in_petersburg, unknown = CustomerFactory(), CustomerFactory(), CustomerFactory()
    uses(in_moscow, components["msk"])
    uses(in_petersburg, components["spb"])
    linked = {
        customer: IncidentTicket.objects.filter(ticket=make_ticket(customer, service="Cloud servers")).exists()
        for customer in (in_moscow, in_petersburg, unknown)
    }
    # Petersburg's servers are fine; of a customer whose servers we do not know, we assume the worst.
    assert linked == {in_moscow: True, in_petersburg: False, unknown: True}


def test_nothing_is_linked_once_the_incident_is_resolved(routed, customer, agent, components):
    incident = open_incident(agent, components["msk"])
    services.incident_resolve(incident=incident, actor=agent, body="Fixed")
    ticket = make_ticket(customer, service="MSK-1")
    assert not IncidentTicket.objects.filter(ticket=ticket).exists()


def test_mail_about_an_affected_component_is_linked_as_the_mail_channel_files_it(routed, customer, agent, components):
    incident = open_incident(agent, components["msk"])
    raw = simple(sender=f"Customer <{customer.email}>", subject="All my MSK-1 servers are down", body="Since 10:00.")
    inbound = mail_services.receive(raw, origin=Source.COMMAND)
    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    assert ticket.channel == "email"
    assert IncidentTicket.objects.get(ticket=ticket).incident == incident


def test_linked_tickets_leave_the_head_of_the_queue_and_come_back_when_unlinked(routed, agent, components):
    incident = open_incident(agent, components["msk"])
    early = make_ticket(CustomerFactory(), service="MSK-1", subject="Down")  # linked, filed first
    ordinary = make_ticket(CustomerFactory(), subject="How do I add a user?")
    assert queue_position(ticket=Ticket.objects.get(pk=ordinary.pk)) == 1
    assert queue_position(ticket=Ticket.objects.get(pk=early.pk)) == 2
    # A customer writing again on a linked ticket keeps it parked.
    ticket_services.message_add(ticket=early, author=early.customer, body="Still down!")
    assert is_parked(Ticket.objects.get(pk=early.pk))
    # Take-next gives the ordinary ticket.
    assert ticket_services.ticket_take_next(agent=agent).pk == ordinary.pk

    unlinked, refused = services.tickets_unlink(incident=incident, tickets=[early], actor=agent)
    assert (unlinked, refused) == (1, [])
    early.refresh_from_db()
    assert not is_parked(early) and queue_position(ticket=early) == 1
    assert not IncidentTicket.objects.filter(ticket=early).exists()
    assert [event["old"] for event in incident_events(early)][-1] == f"#{incident.id} {incident.title}"


def test_agents_link_and_unlink_in_bulk(routed, customer, agent, manager, components):
    incident = open_incident(agent, components["msk"])
    tickets = [make_ticket(customer, subject=f"Problem {n}") for n in range(3)]
    resolved = make_ticket(customer, subject="Already solved")
    ticket_services.ticket_resolve(ticket=resolved, actor=agent)
    elsewhere = LineFactory(code="billing", name="Billing")
    foreign = make_ticket(customer, subject="Other line")
    ticket_services.ticket_transfer(ticket=foreign, actor=manager, to_line=elsewhere, reason="money")

    linked, refused = services.tickets_link(incident=incident, tickets=[*tickets, resolved, foreign], actor=agent)
    assert linked == 3
    assert len(refused) == 2 and f"#{resolved.number}" in refused[0] and f"#{foreign.number}" in refused[1]
    assert IncidentTicket.objects.filter(incident=incident, via=LinkVia.AGENT, linked_by=agent).count() == 3
    # Linking again changes nothing.
    assert services.tickets_link(incident=incident, tickets=tickets, actor=agent) == (3, [])
    assert IncidentTicket.objects.filter(incident=incident).count() == 3
    assert all(len(incident_events(ticket)) == 1 for ticket in tickets)
    # A ticket waits for one incident at a time.
    other = open_incident(agent, components["dns"], title="DNS slow")
    linked, refused = services.tickets_link(incident=other, tickets=tickets[:1], actor=agent)
    assert linked == 0 and incident.reference in refused[0]

    unlinked, refused = services.tickets_unlink(incident=incident, tickets=tickets[:2], actor=agent)
    assert unlinked == 2 and refused == []
    assert list(IncidentTicket.objects.filter(incident=incident).values_list("ticket_id", flat=True)) == [tickets[2].id]


def test_only_staff_of_the_line_link_a_ticket(routed, customer, agent, components):
    incident = open_incident(agent, components["msk"])
    ticket = make_ticket(customer)
    outsider = AgentFactory(username="outsider")
    linked, refused = services.tickets_link(incident=incident, tickets=[ticket], actor=outsider)
    assert linked == 0 and len(refused) == 1
    assert not IncidentTicket.objects.exists() and not incident_events(ticket)


def test_a_resolved_ticket_is_not_linked(routed, customer, agent, components):
    incident = open_incident(agent, components["msk"])
    ticket = make_ticket(customer)
    ticket_services.ticket_resolve(ticket=ticket, actor=agent)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED
    assert services.tickets_link(incident=incident, tickets=[ticket], actor=agent)[0] == 0


def test_reweighing_and_escalating_keep_a_linked_ticket_parked(routed, customer, agent, components):
    from queues.policy import queue_escalate

    open_incident(agent, components["msk"])
    ticket = make_ticket(customer, service="MSK-1")
    ticket_services.ticket_set_urgency(ticket=ticket, actor=agent, urgency="critical", reason="Whole rack down")
    ticket.refresh_from_db()
    assert is_parked(ticket)
    key = ticket.virtual_time
    assert queue_escalate(ticket=ticket, minutes=10) == 10
    assert is_parked(ticket) and ticket.virtual_time < key
