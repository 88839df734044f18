"""A request sent twice files one ticket: the API's create retried with the same Idempotency-Key
(one after the other, and both at once), and the panel's new-ticket form posted twice with the
same form token (a double click, a reload of the answer)."""

import re
import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tickets.models import IdempotencyKey, LineStint, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
BODY = {"subject": "The VPS is down", "body": "vps-17 stopped answering at 10:00."}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_an_api_create_retried_with_the_same_key_files_one_ticket_and_answers_the_same(line, customer):
    key = str(uuid.uuid4())
    first = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Ticket.objects.filter(customer=customer).count() == 1
    # A new key is a new ticket; no key at all is the plain create.
    other = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert other.status_code == 201
    assert other.json()["number"] != first.json()["number"]
    assert api(customer).post(TICKETS, BODY, format="json").status_code == 201
    assert Ticket.objects.filter(customer=customer).count() == 3


def test_the_same_key_for_another_request_is_a_conflict_and_files_nothing(line, customer):
    key = "retry-" + uuid.uuid4().hex
    assert api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    changed = api(customer).post(TICKETS, {**BODY, "subject": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert changed.status_code == 409
    assert changed.json()["error"] == "idempotency_key_reused"
    assert changed.json()["field"] == "Idempotency-Key"
    assert Ticket.objects.filter(customer=customer).count() == 1


def test_keys_are_per_user(line, customer, django_user_model):
    from accounts.tests.factories import CustomerFactory

    other = CustomerFactory(username="customer-other")
    key = "shared-key"
    one = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    two = api(other).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert one.status_code == two.status_code == 201
    assert one.json()["number"] != two.json()["number"]


def test_a_failed_request_leaves_no_key_so_the_corrected_one_files(line, customer):
    key = str(uuid.uuid4())
    bad = api(customer).post(TICKETS, {"subject": "  ", "body": "B"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert good.status_code == 201


@pytest.mark.parametrize("key", ["", "a" * 256, "with space", "ключ"])
def test_a_key_that_is_no_key_is_a_400(line, customer, key):
    response = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_idempotency_key"
    assert response.json()["field"] == "Idempotency-Key"
    assert not Ticket.objects.exists()


def test_an_expired_key_files_again(line, customer, settings):
    key = str(uuid.uuid4())
    first = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    settings.IDEMPOTENCY_KEY_HOURS = 0
    again = api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["number"] != first.json()["number"]
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_the_same_moment_file_one_ticket(line, customer):
    """The second request waits on the key's unique index until the first commits, then gives
    back its answer: not a second ticket, not an error."""
    key = str(uuid.uuid4())
    start = threading.Barrier(4)
    answers: list = []
    errors: list = []

    def send():
        try:
            start.wait(timeout=30)
            answers.append(api(customer).post(TICKETS, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [answer.status_code for answer in answers] == [201] * 4
    assert len({answer.json()["number"] for answer in answers}) == 1
    assert sorted(answer.get("Idempotent-Replayed", "") for answer in answers) == ["", "true", "true", "true"]
    ticket = Ticket.objects.get(customer=customer)
    assert LineStint.objects.filter(ticket=ticket).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="created").count() == 1


# --- the panel's form ---------------------------------------------------------------------


def form_token(client) -> str:
    page = client.get(reverse("panel-ticket-new")).content.decode()
    return re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)


FORM = {"subject": "Mail bounces", "category": "general", "urgency": "normal", "body": "Since noon."}


def test_the_new_ticket_form_posted_twice_files_one_ticket(client, line, customer):
    client.force_login(customer)
    token = form_token(client)
    first = client.post(reverse("panel-ticket-new"), {**FORM, "form_token": token})
    assert first.status_code == 302
    again = client.post(reverse("panel-ticket-new"), {**FORM, "form_token": token})
    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    ticket = Ticket.objects.get(customer=customer)
    assert first["Location"].endswith(f"/{ticket.number}/")
    followed = client.get(again["Location"]).content.decode()
    assert f"#{ticket.number} was filed already" in followed
    # The next visit to the form has a new token: a new ticket.
    assert client.post(reverse("panel-ticket-new"), {**FORM, "form_token": form_token(client)}).status_code == 302
    assert Ticket.objects.filter(customer=customer).count() == 2


def test_a_form_refused_keeps_its_token_and_files_once_corrected(client, line, customer):
    client.force_login(customer)
    token = form_token(client)
    refused = client.post(reverse("panel-ticket-new"), {**FORM, "body": "", "form_token": token})
    assert refused.status_code == 400
    assert f'name="form_token" value="{token}"' in refused.content.decode()
    assert client.post(reverse("panel-ticket-new"), {**FORM, "form_token": token}).status_code == 302
    assert client.post(reverse("panel-ticket-new"), {**FORM, "form_token": token}).status_code == 302
    assert Ticket.objects.filter(customer=customer).count() == 1
