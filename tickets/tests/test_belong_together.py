"""Tickets that belong together: merge, link, split; and tags. Through the services."""

import pytest
from django.utils import translation

from accounts.tests.factories import AgentFactory, CustomerFactory
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from queues.models import RoutingRule
from queues.tests.factories import LineFactory
from tickets import history, services
from tickets.models import (
    Attachment,
    EventKind,
    EventOutbox,
    Message,
    PhoneCall,
    Status,
    SystemReason,
    Tag,
    Ticket,
    TicketLink,
    TicketSecret,
)
from tickets.selectors import ticket_history
from tickets.tests.helpers import events_of, make_ticket, png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(line):
    RoutingRule.objects.create(category="general", line=line)
    return line


@pytest.fixture
def pair(routed, customer, agent):
    first = make_ticket(customer, subject="Site is down", body="Since **Monday**.", attachments=[png_upload("a.png")])
    services.message_add(ticket=first, author=agent, body="Looking into it.")
    services.message_add(ticket=first, author=customer, body="Still down.")
    second = make_ticket(customer, subject="Site still down", body="Nginx says 502.", access_data="root:hunter2")
    services.ticket_tag(ticket=first, actor=agent, name="nginx")
    return first, second


def test_merge_moves_messages_and_files_closes_the_merged_ticket_and_tells_the_customer(pair, agent, customer):
    first, second = pair
    messages_before = set(Message.objects.filter(ticket=first).values_list("id", flat=True))
    history_before = set(first.events.values_list("id", flat=True))

    survivor = services.ticket_merge(ticket=first, into=second, actor=agent)

    first.refresh_from_db()
    assert survivor == second
    assert (first.status, first.merged_into) == (Status.CLOSED, second)
    # Every message and file is on the survivor now, and the merged ticket's description too.
    assert messages_before <= set(Message.objects.filter(ticket=second).values_list("id", flat=True))
    assert Attachment.objects.get(original_name="a.png").ticket == second
    assert Message.objects.filter(ticket=second, body="Since **Monday**.", author=customer).exists()
    assert not Message.objects.filter(ticket=first).exists()
    # The merged ticket's history stays, with the merge and the closing at its end.
    assert history_before <= set(first.events.values_list("id", flat=True))
    closing = events_of(first, EventKind.STATUS)[-1]
    assert closing.data["new"] == Status.CLOSED
    assert closing.data["reason_code"] == SystemReason.MERGED
    assert [e.data["target"] for e in events_of(first, EventKind.MERGE)] == [second.number]
    merge = events_of(second, EventKind.MERGE)[0]
    assert (merge.data["source"], merge.data["target"], merge.actor) == (first.number, second.number, agent)
    assert merge.data["moved"]["attachments"] == 1
    # Tags go over; the customer is told in a public message on the survivor, mailed through the outbox.
    assert list(second.tags.values_list("name", flat=True)) == ["nginx"]
    notice = Message.objects.filter(ticket=second, kind=Message.Kind.PUBLIC, author=agent).latest("id")
    assert f"#{first.number}" in notice.body
    notice_event = second.events.get(kind=EventKind.MESSAGE, data__message_id=notice.id)
    assert EventOutbox.objects.filter(event=notice_event).exists()
    # The survivor keeps its own access data.
    assert TicketSecret.objects.filter(ticket=second).exists()


def test_merge_history_reads_in_both_languages(pair, agent):
    first, second = pair
    services.ticket_merge(ticket=first, into=second, actor=agent)
    events = ticket_history(ticket=first, user=agent)
    merge = next(e for e in events if e.kind == EventKind.MERGE)
    closing = [e for e in events if e.kind == EventKind.STATUS][-1]
    assert history.change_text(merge) == f"#{first.number} → #{second.number}"
    with translation.override("en"):
        assert history.reason_text(closing) == f"merged into ticket #{second.number}"
        assert str(EventKind(merge.kind).label) == "Merged"
    with translation.override("ru"):
        assert str(second.number) in history.reason_text(closing)


def test_merge_is_refused_across_customers_closed_tickets_and_without_permission(pair, routed, agent, customer):
    first, second = pair
    other = make_ticket(CustomerFactory(), subject="Another customer")
    with pytest.raises(Conflict) as refused:
        services.ticket_merge(ticket=first, into=other, actor=agent)
    assert refused.value.code == "different_customer"
    with pytest.raises(Conflict):
        services.ticket_merge(ticket=first, into=first, actor=agent)
    outsider = AgentFactory()
    LineFactory(code="finance", name="Finance", kind="department", level=None).memberships.create(user=outsider)
    with pytest.raises(PermissionDenied):
        services.ticket_merge(ticket=first, into=second, actor=outsider)
    services.ticket_merge(ticket=first, into=second, actor=agent)
    third = make_ticket(customer, subject="Third")
    with pytest.raises(Conflict) as closed:
        services.ticket_merge(ticket=first, into=third, actor=agent)
    assert closed.value.code == "ticket_closed"
    assert not first.events.filter(kind=EventKind.MERGE, data__target=third.number).exists()


def test_merge_moves_access_data_and_calls_when_the_survivor_has_none(routed, customer, agent):
    first = make_ticket(customer, subject="One", access_data="root:secret")
    second = make_ticket(customer, subject="Two")
    call = services.call_log(
        agent=agent,
        customer=customer,
        duration=__import__("datetime").timedelta(minutes=3),
        summary="Called",
        ticket=first,
    )
    services.ticket_merge(ticket=first, into=second, actor=agent)
    assert TicketSecret.objects.get().ticket == second
    assert PhoneCall.objects.get(pk=call.pk).ticket == second


def test_link_and_unlink_write_both_histories(pair, agent):
    first, second = pair
    link = services.ticket_link(ticket=second, other=first, actor=agent)
    assert (link.first, link.second) == (first, second)
    with pytest.raises(Conflict):
        services.ticket_link(ticket=first, other=second, actor=agent)
    assert [e.data["new"] for e in events_of(first, EventKind.LINK)] == [f"#{second.number}"]
    assert history.change_text(events_of(second, EventKind.LINK)[0]) == f"+ #{first.number}"
    services.ticket_unlink(ticket=first, other=second, actor=agent)
    assert not TicketLink.objects.exists()
    assert history.change_text(events_of(first, EventKind.LINK)[-1]) == f"− #{second.number}"
    with pytest.raises(NotFound):
        services.ticket_unlink(ticket=first, other=second, actor=agent)


def test_link_needs_the_other_ticket_visible(pair, routed, agent):
    first, _second = pair
    hidden_line = LineFactory(code="finance", name="Finance", kind="department", level=None)
    hidden = Ticket.objects.create(subject="Hidden", body="x", line=hidden_line, customer=CustomerFactory())
    with pytest.raises(NotFound):
        services.ticket_link(ticket=first, other=hidden, actor=agent)


def test_split_makes_a_new_ticket_from_a_message_with_its_files(routed, customer, agent):
    ticket = make_ticket(customer, subject="Site down")
    services.message_add(ticket=ticket, author=agent, body="Checking.")
    message = services.message_add(
        ticket=ticket,
        author=customer,
        body="Also: my invoice is wrong.\nDetails below.",
        attachments=[png_upload("invoice.png")],
    )
    new = services.ticket_split(ticket=ticket, message=message, actor=agent)
    assert (new.customer, new.subject, new.body) == (customer, "Also: my invoice is wrong.", message.body)
    assert new.events.filter(kind=EventKind.CREATED, actor=agent).exists()
    # Nothing lost: the message stays in the old thread, its file is on both.
    assert Message.objects.filter(pk=message.pk, ticket=ticket).exists()
    assert Attachment.objects.filter(ticket=new, original_name="invoice.png").exists()
    assert Attachment.objects.filter(ticket=ticket, original_name="invoice.png").exists()
    assert TicketLink.objects.filter(first=ticket, second=new).exists()
    for each in (ticket, new):
        split = events_of(each, EventKind.SPLIT)[0]
        assert (split.data["source"], split.data["target"], split.data["message_id"]) == (
            ticket.number,
            new.number,
            message.id,
        )


def test_split_refuses_another_tickets_message_and_outsiders(routed, customer, agent):
    ticket = make_ticket(customer, subject="One")
    other = make_ticket(customer, subject="Two")
    message = services.message_add(ticket=other, author=customer, body="Hello")
    with pytest.raises(NotFound):
        services.ticket_split(ticket=ticket, message=message, actor=agent)
    with pytest.raises(NotFound):
        services.ticket_split(ticket=other, message=message, actor=customer)


def test_tags_are_normalised_audited_and_refused_twice(routed, customer, agent):
    ticket = make_ticket(customer)
    tag = services.ticket_tag(ticket=ticket, actor=agent, name="  Billing Issue ")
    assert tag.name == "billing-issue"
    assert Tag.objects.get().created_by == agent
    with pytest.raises(Conflict):
        services.ticket_tag(ticket=ticket, actor=agent, name="billing-issue")
    with pytest.raises(DomainError):
        services.ticket_tag(ticket=ticket, actor=agent, name="no<script>")
    with pytest.raises(NotFound):
        services.ticket_tag(ticket=ticket, actor=customer, name="vip")
    services.ticket_untag(ticket=ticket, actor=agent, name="billing-issue")
    assert [history.change_text(e) for e in events_of(ticket, EventKind.TAG)] == ["+ billing-issue", "− billing-issue"]
    assert not ticket.tags.exists()


def test_the_ticket_page_merges_splits_and_tags(client, pair, agent, customer):
    first, second = pair
    client.force_login(agent)
    page = client.get(f"/desk/tickets/{first.number}/").content.decode()
    assert 'data-testid="merge-form"' in page and 'data-testid="split-form"' in page
    client.post(f"/desk/tickets/{first.number}/tag/", {"tag": "vip"})
    assert set(first.tags.values_list("name", flat=True)) == {"nginx", "vip"}
    message = Message.objects.filter(ticket=first, author=customer).latest("id")
    response = client.post(f"/desk/tickets/{first.number}/split/", {"message": message.id, "subject": "Backups"})
    new = Ticket.objects.get(subject="Backups")
    assert response["Location"] == f"/desk/tickets/{new.number}/"
    response = client.post(f"/desk/tickets/{first.number}/merge/", {"into": f"#{second.number}"})
    assert response["Location"] == f"/desk/tickets/{second.number}/"
    merged = client.get(f"/desk/tickets/{first.number}/").content.decode()
    assert 'data-testid="merged-into"' in merged and f"#{second.number}" in merged
    assert 'data-testid="merge-form"' not in merged
    survivor = client.get(f"/desk/tickets/{second.number}/").content.decode()
    assert "merged here" in survivor and f"#{first.number}" in survivor
