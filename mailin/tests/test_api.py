"""The inbound endpoint's protection and answers; the agents' list and link endpoints; the schema."""

import pytest
from django.core.management import call_command

from accounts.tests.factories import AgentFactory, CustomerFactory
from mailin.models import InboundMessage, Outcome
from mailin.tests.helpers import ENDPOINT, TOKEN, simple, via_endpoint
from queues.tests.factories import LineFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def post(client, raw=b"", **headers):
    return client.post(ENDPOINT, data=raw, content_type=headers.pop("content_type", "message/rfc822"), **headers)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {TOKEN}", f"Bearer {TOKEN} extra", "Bearer", f"bearer {TOKEN}x"],
)
def test_missing_or_wrong_token_is_refused_with_403(client, mailbox, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = post(client, simple(), **headers)
    assert response.status_code == 403
    assert response.json()["error"] in ("not_authenticated", "authentication_failed")
    assert not InboundMessage.objects.exists()


def test_the_token_scheme_is_case_insensitive(client, mailbox, customer):
    response = post(client, simple(), HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert response.status_code == 202


def test_no_token_configured_answers_503(client, mailbox, settings):
    settings.INBOUND_TOKEN = ""
    response = post(client, simple(), HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 503
    assert response.json() == {
        "error": "inbound_not_configured",
        "detail": "Inbound e-mail is not configured: set HELPDESK_INBOUND_TOKEN.",
    }


def test_a_session_does_not_replace_the_token(client, mailbox, agent):
    client.force_login(agent)
    assert post(client, simple()).status_code == 403


def test_answer_with_the_outcome(client, mailbox, customer):
    inbound, status, body = via_endpoint(client, simple(message_id="m-1@example.com"))
    assert status == 202
    assert body["outcome"] == "ticket_created"
    assert body["ticket"] == inbound.ticket.number
    assert body["message_id"] == "m-1@example.com"
    assert body["stored"] is True
    assert set(body) >= {"id", "detail", "sha256", "size", "sender_matched", "duplicate_of", "received_at"}


def test_octet_stream_is_accepted(client, mailbox, customer):
    _inbound, status, body = via_endpoint(client, simple(), content_type="application/octet-stream")
    assert (status, body["outcome"]) == (202, "ticket_created")


def test_other_content_types_are_refused(client, mailbox):
    response = post(client, b'{"a": 1}', content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 415
    assert not InboundMessage.objects.exists()


def test_empty_body_is_refused(client, mailbox):
    response = post(client, b"", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 400
    assert response.json()["error"] == "empty"


def test_unknown_mailbox_parameter_is_refused(client, mailbox):
    response = client.post(
        ENDPOINT + "?mailbox=nobody@hosting.example",
        data=simple(),
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "mailbox"


def test_a_failure_to_file_is_recorded_not_raised(client, mailbox, customer, monkeypatch):
    from tickets import services as ticket_services

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(ticket_services, "ticket_create", broken)
    inbound, status, body = via_endpoint(client, simple())
    assert status == 202
    assert body["outcome"] == Outcome.FAILED
    assert "RuntimeError: database hiccup" in body["detail"]
    assert inbound.raw_bytes() == simple()


def test_no_line_set_up_is_recorded_and_can_be_processed_again(client, customer, line):
    from mailin import services

    line.is_active = False
    line.save()
    inbound, _status, body = via_endpoint(client, simple())
    assert body["outcome"] == Outcome.FAILED
    assert "No support line is set up" in body["detail"]
    line.is_active = True
    line.save()
    inbound = services.reprocess(inbound)
    assert inbound.outcome == Outcome.TICKET_CREATED


# --- agents: unmatched senders ----------------------------------------------------------------


@pytest.fixture
def unmatched(client, mailbox):
    inbound, _status, _body = via_endpoint(client, simple(sender="Olga <olga@newcomer.example>", message_id="o@x"))
    assert inbound.outcome == Outcome.UNMATCHED_TICKET_CREATED
    return inbound


def test_agents_list_unmatched_mail_of_their_lines(client, unmatched, agent, customer):
    stranger = AgentFactory(username="stranger")
    LineFactory(code="other").memberships.create(user=stranger)
    client.force_login(agent)
    response = client.get("/api/v1/inbound/messages/?unmatched=1")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [unmatched.pk]
    client.force_login(stranger)
    assert client.get("/api/v1/inbound/messages/").json()["results"] == []
    client.force_login(customer)
    assert client.get("/api/v1/inbound/messages/").status_code == 403


def test_agent_links_the_sender_and_later_mail_is_matched(client, unmatched, agent, customer):
    client.force_login(agent)
    response = client.post(
        f"/api/v1/inbound/messages/{unmatched.pk}/link/", {"customer": "CUSTOMER-A@example.com"}, "application/json"
    )
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(pk=unmatched.ticket_id)
    assert ticket.customer == customer
    # Again: already linked.
    again = client.post(
        f"/api/v1/inbound/messages/{unmatched.pk}/link/", {"customer": "customer-a"}, "application/json"
    )
    assert again.status_code == 409
    client.logout()
    later, _status, body = via_endpoint(
        client, simple(sender="olga@newcomer.example", subject="More", message_id="o2@x")
    )
    assert body["outcome"] == Outcome.TICKET_CREATED
    assert later.ticket.customer == customer
    assert later.sender_matched


def test_link_needs_an_active_customer(client, unmatched, agent):
    inactive = CustomerFactory(username="gone", is_active=False)
    client.force_login(agent)
    url = f"/api/v1/inbound/messages/{unmatched.pk}/link/"
    assert client.post(url, {"customer": inactive.username}, "application/json").status_code == 400
    assert client.post(url, {"customer": agent.username}, "application/json").status_code == 400
    assert (
        client.post("/api/v1/inbound/messages/999999/link/", {"customer": "x"}, "application/json").status_code == 404
    )


def test_only_staff_of_the_line_link(client, unmatched, customer):
    stranger = AgentFactory(username="stranger")
    LineFactory(code="other").memberships.create(user=stranger)
    client.force_login(stranger)
    response = client.post(
        f"/api/v1/inbound/messages/{unmatched.pk}/link/", {"customer": customer.username}, "application/json"
    )
    assert response.status_code == 403
    assert Ticket.objects.get(pk=unmatched.ticket_id).customer != customer


def test_schema_documents_the_endpoint_and_validates(tmp_path):
    path = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = path.read_text()
    assert "/api/v1/inbound/email/:" in schema
    assert "message/rfc822" in schema
    assert "inboundToken" in schema


def test_a_body_over_djangos_upload_limit_is_still_kept(client, mailbox, customer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    settings.INBOUND_MAX_BYTES = 2 * 1024 * 1024
    raw = simple(subject="Big", body="x" * (3 * 1024 * 1024))
    inbound, status, body = via_endpoint(client, raw)
    assert (status, body["outcome"]) == (202, Outcome.REJECTED_TOO_LARGE)
    assert inbound.raw_bytes() == raw


def test_the_list_filters_by_outcome_and_refuses_an_unknown_one(client, unmatched, manager):
    client.force_login(manager)
    listed = client.get("/api/v1/inbound/messages/", {"outcome": Outcome.UNMATCHED_TICKET_CREATED}).json()
    assert [item["id"] for item in listed["results"]] == [unmatched.pk]
    assert client.get("/api/v1/inbound/messages/", {"outcome": Outcome.DUPLICATE}).json()["results"] == []
    response = client.get("/api/v1/inbound/messages/", {"outcome": "no-such-outcome"})
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["field"]) == ("invalid_choice", "outcome")


@pytest.mark.parametrize("query", [{"ticket": "abc"}, {"ticket": "0"}, {"ticket": str(2**64)}, {"unmatched": "maybe"}])
def test_the_list_refuses_a_filter_that_is_not_of_its_type(client, unmatched, manager, query):
    client.force_login(manager)
    response = client.get("/api/v1/inbound/messages/", query)
    assert response.status_code == 400
    assert response.json()["field"] == next(iter(query))
