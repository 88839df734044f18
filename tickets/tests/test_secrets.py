"""Server access data on tickets: encrypted at rest, revealed only to the current line, audited,
wiped on close, and kept readable across key rotation."""

import html
import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, OrganisationFactory, UserFactory
from helpdesk.errors import Conflict, NotFound, PermissionDenied
from queues.tests.factories import LineFactory
from tickets import secrets, services
from tickets.models import EventKind, TicketEvent, TicketSecret
from tickets.tests.helpers import events_of, make_ticket

pytestmark = pytest.mark.django_db

# Characters outside the base64 alphabet make an accidental match in a Fernet token impossible.
PLAINTEXT = "ssh root@203.0.113.7 password: Tr0ub4dor&3!horse"
PASSWORD = "Tr0ub4dor&3!horse"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def line2(db):
    return LineFactory(code="second-line", name="Second line", level=2)


@pytest.fixture
def agent2(line2):
    user = AgentFactory(username="agent-b")
    line2.memberships.create(user=user)
    return user


@pytest.fixture
def ticket(line, customer):
    return make_ticket(customer, access_data=PLAINTEXT)


def raw_ciphertext(ticket) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM tickets_ticketsecret WHERE ticket_id = %s", [ticket.pk])
        (value,) = cursor.fetchone()
    return bytes(value)


def reveal_events(ticket) -> list[TicketEvent]:
    return events_of(ticket, EventKind.SECRET_REVEAL)


def test_stored_ciphertext_does_not_contain_plaintext(ticket):
    stored = raw_ciphertext(ticket)

    assert PLAINTEXT.encode() not in stored
    assert PASSWORD.encode() not in stored
    assert secrets.decrypt(stored) == PLAINTEXT


def test_storing_access_data_writes_event_without_the_data(ticket, customer):
    (stored,) = events_of(ticket, EventKind.SECRET_SET)
    assert (stored.actor, stored.data) == (customer, {})
    assert TicketSecret.objects.get(ticket=ticket).created_by == customer


def test_reveal_by_agent_of_current_line(ticket, agent):
    assert services.secret_reveal(ticket=ticket, actor=agent) == PLAINTEXT

    (event,) = reveal_events(ticket)
    assert (event.actor, event.data) == (agent, {})


def test_every_reveal_is_audited(ticket, agent):
    services.secret_reveal(ticket=ticket, actor=agent)
    services.secret_reveal(ticket=ticket, actor=agent)
    assert [e.actor for e in reveal_events(ticket)] == [agent, agent]


def test_reveal_by_manager_outside_the_line_refused(ticket, manager):
    with pytest.raises(PermissionDenied):
        services.secret_reveal(ticket=ticket, actor=manager)
    assert reveal_events(ticket) == []


def test_reveal_by_manager_member_of_the_line(ticket, manager, line):
    line.memberships.create(user=manager)
    assert services.secret_reveal(ticket=ticket, actor=manager) == PLAINTEXT
    assert [e.actor for e in reveal_events(ticket)] == [manager]


def test_reveal_by_agent_of_another_line_refused(ticket, agent2):
    with pytest.raises(PermissionDenied):
        services.secret_reveal(ticket=ticket, actor=agent2)
    assert reveal_events(ticket) == []


def test_reveal_by_the_customer_refused(ticket, customer):
    with pytest.raises(PermissionDenied):
        services.secret_reveal(ticket=ticket, actor=customer)
    assert reveal_events(ticket) == []


def test_reveal_by_another_customer_not_found(ticket):
    with pytest.raises(NotFound):
        services.secret_reveal(ticket=ticket, actor=CustomerFactory(username="customer-b"))
    assert reveal_events(ticket) == []


def test_old_line_agent_cannot_reveal_after_transfer(ticket, agent, line2):
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=line2, reason="Needs root access.")

    with pytest.raises(PermissionDenied):
        services.secret_reveal(ticket=ticket, actor=agent)
    assert reveal_events(ticket) == []


def test_new_line_agent_can_reveal_after_transfer(ticket, agent, agent2, line2):
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=line2, reason="Needs root access.")

    assert services.secret_reveal(ticket=ticket, actor=agent2) == PLAINTEXT
    assert [e.actor for e in reveal_events(ticket)] == [agent2]


def test_reveal_after_close_finds_nothing(ticket, agent, customer):
    services.ticket_resolve(ticket=ticket, actor=agent)
    services.ticket_confirm(ticket=ticket, customer=customer)

    with pytest.raises(NotFound) as exc:
        services.secret_reveal(ticket=ticket, actor=agent)

    assert exc.value.code == "no_secret"
    assert reveal_events(ticket) == []


def test_secret_store_on_closed_ticket_refused(ticket, agent, customer):
    services.ticket_resolve(ticket=ticket, actor=agent)
    services.ticket_confirm(ticket=ticket, customer=customer)

    with pytest.raises(Conflict) as exc:
        services.secret_store(ticket=ticket, actor=customer, access_data=PLAINTEXT)

    assert exc.value.code == "ticket_closed"
    assert not TicketSecret.objects.filter(ticket=ticket).exists()
    assert len(events_of(ticket, EventKind.SECRET_SET)) == 1


def test_secret_store_replaces_access_data(ticket, customer, agent):
    services.secret_store(ticket=ticket, actor=customer, access_data="new password: c0rrect-h0rse!")

    assert services.secret_reveal(ticket=ticket, actor=agent) == "new password: c0rrect-h0rse!"
    assert TicketSecret.objects.filter(ticket=ticket).count() == 1
    assert len(events_of(ticket, EventKind.SECRET_SET)) == 2


# --- Who may replace the access data -------------------------------------------------------
# Who may not read a ticket's access data may not replace it either; the customer side of the
# ticket, which never reads it back, may always replace it: it owns the server.

NEW_DATA = "new password: c0rrect-h0rse!"


def stored_plaintext(ticket) -> str:
    return secrets.decrypt(TicketSecret.objects.get(ticket=ticket).ciphertext)


def test_owner_replaces_their_access_data(ticket, customer):
    services.secret_store(ticket=ticket, actor=customer, access_data=NEW_DATA)
    assert stored_plaintext(ticket) == NEW_DATA


def test_colleague_who_sees_the_organisations_tickets_replaces_the_access_data(line):
    organisation = OrganisationFactory()
    owner = CustomerFactory(username="owner", organisation=organisation)
    colleague = CustomerFactory(username="colleague", organisation=organisation)
    colleague.customer_profile.can_see_organisation_tickets = True
    colleague.customer_profile.save()
    ticket = make_ticket(owner, access_data=PLAINTEXT)

    services.secret_store(ticket=ticket, actor=colleague, access_data=NEW_DATA)

    assert stored_plaintext(ticket) == NEW_DATA
    assert [e.actor for e in events_of(ticket, EventKind.SECRET_SET)] == [owner, colleague]


def test_another_customer_cannot_replace_the_access_data(ticket):
    with pytest.raises(NotFound):
        services.secret_store(ticket=ticket, actor=CustomerFactory(username="customer-b"), access_data=NEW_DATA)
    assert stored_plaintext(ticket) == PLAINTEXT


def test_agent_of_the_current_line_replaces_the_access_data(ticket, agent):
    services.secret_store(ticket=ticket, actor=agent, access_data=NEW_DATA)
    assert stored_plaintext(ticket) == NEW_DATA


def test_agent_of_another_line_cannot_replace_the_access_data(ticket, agent2):
    with pytest.raises(PermissionDenied):
        services.secret_store(ticket=ticket, actor=agent2, access_data=NEW_DATA)
    assert stored_plaintext(ticket) == PLAINTEXT


def test_manager_outside_the_line_cannot_replace_what_they_cannot_read(ticket, manager):
    with pytest.raises(PermissionDenied):
        services.secret_store(ticket=ticket, actor=manager, access_data=NEW_DATA)

    assert stored_plaintext(ticket) == PLAINTEXT
    assert [e.actor for e in events_of(ticket, EventKind.SECRET_SET)] == [ticket.customer]


def test_manager_member_of_the_line_replaces_the_access_data(ticket, manager, line):
    line.memberships.create(user=manager)
    services.secret_store(ticket=ticket, actor=manager, access_data=NEW_DATA)
    assert stored_plaintext(ticket) == NEW_DATA


@pytest.mark.parametrize("role", [Role.QUALITY, Role.ADMIN])
def test_other_management_roles_outside_the_line_cannot_replace_the_access_data(ticket, role):
    outsider = UserFactory(username=f"outsider-{role}", role=role)
    with pytest.raises(PermissionDenied):
        services.secret_store(ticket=ticket, actor=outsider, access_data=NEW_DATA)
    assert stored_plaintext(ticket) == PLAINTEXT


def test_old_line_agent_cannot_replace_after_transfer(ticket, agent, agent2, line2):
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=line2, reason="Needs root access.")

    with pytest.raises(PermissionDenied):
        services.secret_store(ticket=ticket, actor=agent, access_data=NEW_DATA)
    services.secret_store(ticket=ticket, actor=agent2, access_data=NEW_DATA)
    assert stored_plaintext(ticket) == NEW_DATA


# --- Reveal only by POST ---------------------------------------------------------------------


def test_desk_reveal_page_refuses_get_and_records_nothing(client, ticket, agent):
    client.force_login(agent)
    url = reverse("desk-ticket-reveal", args=[ticket.number])

    response = client.get(url)

    assert response.status_code == 405
    assert PASSWORD not in response.content.decode()
    assert reveal_events(ticket) == []


def test_desk_reveal_page_needs_the_csrf_token(ticket, agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    url = reverse("desk-ticket-reveal", args=[ticket.number])

    refused = client.post(url)
    assert refused.status_code == 403
    assert reveal_events(ticket) == []

    page = client.get(reverse("desk-ticket", args=[ticket.number]))
    token = page.context["csrf_token"]
    revealed = client.post(url, HTTP_X_CSRFTOKEN=str(token), HTTP_HX_REQUEST="true")
    assert revealed.status_code == 200
    assert html.escape(PLAINTEXT) in revealed.content.decode()
    assert [e.actor for e in reveal_events(ticket)] == [agent]


def test_api_reveal_refuses_get_and_records_nothing(ticket, agent):
    client = APIClient()
    client.force_authenticate(agent)
    for name in ("ticket-access-data", "ticket-access-data-reveal"):
        response = client.get(reverse(f"api:{name}", args=[ticket.number]))
        assert response.status_code == 405, name
        assert PASSWORD not in response.content.decode()
    assert reveal_events(ticket) == []


def test_api_reveal_by_post(ticket, agent):
    client = APIClient()
    client.force_authenticate(agent)

    response = client.post(reverse("api:ticket-access-data-reveal", args=[ticket.number]))

    assert response.status_code == 200
    assert response.json() == {"access_data": PLAINTEXT}
    assert response["Cache-Control"] == "no-store"
    assert [e.actor for e in reveal_events(ticket)] == [agent]


def test_api_reveal_with_a_session_needs_the_csrf_token(ticket, agent):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)

    response = client.post(reverse("api:ticket-access-data-reveal", args=[ticket.number]))

    assert response.status_code == 403
    assert PASSWORD not in response.content.decode()
    assert reveal_events(ticket) == []


# --- Key rotation ---------------------------------------------------------------------------


@pytest.fixture
def old_key():
    return Fernet.generate_key().decode()


@pytest.fixture
def new_key():
    return Fernet.generate_key().decode()


def test_data_encrypted_with_old_key_still_decrypts(settings, old_key, new_key, line, customer, agent):
    settings.SECRET_ENCRYPTION_KEYS = [old_key]
    ticket = make_ticket(customer, access_data=PLAINTEXT)

    settings.SECRET_ENCRYPTION_KEYS = [new_key, old_key]

    assert services.secret_reveal(ticket=ticket, actor=agent) == PLAINTEXT


def test_rotate_reencrypts_with_the_new_key(settings, old_key, new_key):
    settings.SECRET_ENCRYPTION_KEYS = [old_key]
    token = secrets.encrypt(PLAINTEXT)

    settings.SECRET_ENCRYPTION_KEYS = [new_key, old_key]
    rotated = secrets.rotate(token)

    settings.SECRET_ENCRYPTION_KEYS = [new_key]
    assert secrets.decrypt(rotated) == PLAINTEXT
    with pytest.raises(ImproperlyConfigured):
        secrets.decrypt(token)


def test_new_data_is_encrypted_with_the_first_key(settings, old_key, new_key):
    settings.SECRET_ENCRYPTION_KEYS = [new_key, old_key]
    token = secrets.encrypt(PLAINTEXT)

    settings.SECRET_ENCRYPTION_KEYS = [new_key]
    assert secrets.decrypt(token) == PLAINTEXT
    settings.SECRET_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(ImproperlyConfigured):
        secrets.decrypt(token)


def test_rotate_command_makes_stored_data_readable_with_new_key_alone(
    settings, old_key, new_key, line, customer, agent
):
    settings.SECRET_ENCRYPTION_KEYS = [old_key]
    ticket = make_ticket(customer, access_data=PLAINTEXT)

    settings.SECRET_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_secret_keys", stdout=out)
    assert "1 of 1 re-encrypted" in out.getvalue()

    settings.SECRET_ENCRYPTION_KEYS = [new_key]
    assert services.secret_reveal(ticket=ticket, actor=agent) == PLAINTEXT
    assert PLAINTEXT.encode() not in raw_ciphertext(ticket)


def test_no_keys_refuses_to_store(settings):
    settings.SECRET_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        secrets.encrypt(PLAINTEXT)


# --- The plaintext goes nowhere else --------------------------------------------------------


def test_plaintext_never_logged(caplog, line, customer, agent):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")

    with CaptureQueriesContext(connection) as queries:
        ticket = make_ticket(customer, access_data=PLAINTEXT)
        services.secret_store(ticket=ticket, actor=agent, access_data=PLAINTEXT + " (again)")
        services.secret_reveal(ticket=ticket, actor=agent)
        services.ticket_resolve(ticket=ticket, actor=agent)
        services.ticket_confirm(ticket=ticket, customer=customer)

    # The SQL was logged, so the check below looked at everything the database saw too.
    assert "tickets_ticketsecret" in caplog.text
    assert PASSWORD not in caplog.text
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert PASSWORD not in repr(record.__dict__)
    assert all(PASSWORD not in query["sql"] for query in queries.captured_queries)


def test_plaintext_never_in_history(line, customer, agent, line2, agent2):
    ticket = make_ticket(customer, access_data=PLAINTEXT)
    services.secret_store(ticket=ticket, actor=agent, access_data=PLAINTEXT + " (again)")
    services.secret_reveal(ticket=ticket, actor=agent)
    services.ticket_transfer(ticket=ticket, actor=agent, to_line=line2, reason="Needs root access.")
    services.secret_reveal(ticket=ticket, actor=agent2)
    services.ticket_resolve(ticket=ticket, actor=agent2)
    services.ticket_confirm(ticket=ticket, customer=customer)

    kinds = [e.kind for e in events_of(ticket)]
    assert {EventKind.SECRET_SET, EventKind.SECRET_REVEAL, EventKind.SECRET_WIPE} <= set(kinds)
    for event in events_of(ticket):
        assert PASSWORD not in json.dumps(event.data)
    assert not ticket.messages.filter(body__contains=PASSWORD).exists()


def test_blank_access_data_on_create_stores_nothing(line, customer):
    ticket = make_ticket(customer, access_data="   \n ")
    assert not TicketSecret.objects.filter(ticket=ticket).exists()
    assert events_of(ticket, EventKind.SECRET_SET) == []
