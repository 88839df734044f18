"""Text from requests: NUL bytes, over-long values, huge page numbers and deep JSON are
refused with 400 or 404, never a 500 (helpdesk.middleware, helpdesk.parsers, pagination)."""

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.tests.factories import CustomerFactory
from helpdesk.middleware import json_too_deep
from mailin.models import Mailbox
from mailin.tests.helpers import ENDPOINT, TOKEN, simple
from queues import services as queue_services
from queues.models import Boost, BoostKind, BoostPrice
from tickets import services
from tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db

HUGE = str(2**64)  # past PostgreSQL's bigint


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_api_error(response, status=400):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) >= {"error", "detail"}
    return body


@pytest.fixture
def ticket(line, customer, agent):
    return services.ticket_create(customer=customer, subject="Disk is full", body="Please help")


# --- the instances of the review --------------------------------------------------------


@pytest.mark.parametrize("name", ["panel-tickets", "desk-tickets"])
@pytest.mark.parametrize("page", [HUGE, "9" * 40, "9" * 1000, "-" + HUGE, "0", "-1", "x", "1e3", " 2", "²", "1.0"])
def test_list_pages_answer_404_for_a_page_that_cannot_exist(client, users_by_role, ticket, name, page):
    client.force_login(users_by_role["customer" if name.startswith("panel") else "agent"])
    assert client.get(reverse(name), {"page": page}).status_code == 404


@pytest.mark.parametrize("name", ["panel-tickets", "desk-tickets"])
@pytest.mark.parametrize("page", ["", "1", "01"])
def test_list_pages_show_the_first_page_without_a_number(client, users_by_role, ticket, name, page):
    client.force_login(users_by_role["customer" if name.startswith("panel") else "agent"])
    response = client.get(reverse(name), {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == 1


@pytest.mark.parametrize("name", ["panel-tickets", "desk-tickets"])
def test_a_page_past_the_last_is_404_and_the_last_page_still_shows(client, users_by_role, ticket, name):
    client.force_login(users_by_role["customer" if name.startswith("panel") else "agent"])
    assert client.get(reverse(name), {"page": "1"}).status_code == 200
    assert client.get(reverse(name), {"page": "2"}).status_code == 404


def test_nul_in_the_desk_lists_line_filter_is_400(client, agent, ticket):
    client.force_login(agent)
    response = client.get(reverse("desk-tickets"), {"line": "first\x00line"})
    assert response.status_code == 400
    assert b"Traceback" not in response.content


def test_nul_in_the_inbound_messages_outcome_filter_is_400(agent):
    response = api(agent).get(reverse("api:inbound-message-list"), {"outcome": "threaded\x00"})
    body = assert_api_error(response)
    assert body["error"] == "null_character"


@pytest.fixture
def boostable(line, agent):
    BoostPrice.objects.create(kind=BoostKind.FRONT, price=Decimal(200))
    services.ticket_create(customer=CustomerFactory(username="first-in-line"), subject="a", body="x")
    last = services.ticket_create(customer=CustomerFactory(username="booster"), subject="b", body="x")
    queue_services.balance_credit(customer=last.customer, amount=Decimal(300), description="top-up")
    return last


@pytest.mark.parametrize(
    "payload", [{"kind": "front\x00", "idempotency_key": "k-1"}, {"kind": "front", "idempotency_key": "k\x00-1"}]
)
def test_nul_in_a_boost_bought_through_the_api_is_400(boostable, payload):
    response = api(boostable.customer).post(
        reverse("api:ticket-boost", args=[boostable.number]), payload, format="json"
    )
    assert_api_error(response)
    assert not Boost.objects.exists()


@pytest.mark.parametrize(
    "payload", [{"kind": "front\x00", "idempotency_key": "k-1"}, {"kind": "front", "idempotency_key": "k\x00-1"}]
)
def test_nul_in_a_boost_bought_from_the_page_is_400(client, boostable, payload):
    client.force_login(boostable.customer)
    response = client.post(reverse("panel-ticket-boost", args=[boostable.number]), payload)
    assert response.status_code == 400
    assert not Boost.objects.exists()


def test_nul_in_a_boost_quote_is_400(boostable):
    response = api(boostable.customer).get(reverse("api:ticket-boost", args=[boostable.number]), {"kind": "front\x00"})
    assert_api_error(response)


def test_nul_in_the_customer_of_the_desks_new_ticket_form_is_400(client, agent, customer):
    client.force_login(agent)
    form = {"customer": "customer-a\x00", "subject": "s", "body": "b", "category": "general", "urgency": "normal"}
    response = client.post(reverse("desk-ticket-new"), form)
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_json_nested_50000_levels_is_400_with_the_error_shape(agent):
    body = "[" * 50_000 + "]" * 50_000
    response = api(agent).post(reverse("api:queue-take-next"), body, content_type="application/json")
    payload = assert_api_error(response)
    assert payload["error"] == "too_deep"


def test_json_nested_a_little_is_still_parsed(agent):
    body = json.dumps({"line": "first-line", "extra": [[[[{"a": [1, 2, {"b": None}]}]]]]})
    response = api(agent).post(reverse("api:queue-take-next"), body, content_type="application/json")
    assert response.status_code == 204


# --- the class: one check for every request ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/api/v1/tickets/", {"q": "a\x00b"}),
        ("/api/v1/tickets/", {"a\x00": "b"}),
        ("/api/v1/tickets/", {"page": "1\x00"}),
    ],
)
def test_nul_anywhere_in_an_api_query_is_400_with_the_error_shape(agent, path, data):
    body = assert_api_error(api(agent).get(path, data))
    assert body["error"] == "null_character"


def test_nul_in_a_form_field_or_field_name_is_refused_before_any_view(client, customer, line):
    client.force_login(customer)
    url = reverse("panel-ticket-new")
    assert client.post(url, {"subject": "s", "body": "b", "category": "general", "x\x00": "1"}).status_code == 400
    assert client.post(url, {"subject": "s\x00", "body": "b", "category": "general"}).status_code == 400
    assert not Ticket.objects.exists()


def test_nul_in_a_percent_encoded_path_is_400(client, customer):
    client.force_login(customer)
    assert client.get("/panel/tickets/%00/").status_code == 400
    assert_api_error(api(customer).get("/api/v1/tickets/%00/"))


def test_nul_in_json_strings_and_keys_is_400(agent, ticket):
    url = reverse("api:ticket-messages", args=[ticket.number])
    before = ticket.messages.count()
    for payload in ({"body": "hi\x00"}, {"body": "hi", "x\x00": 1}, {"body": ["ok", {"deep": "a\x00"}]}):
        body = assert_api_error(api(agent).post(url, payload, format="json"))
        assert body["error"] == "null_character"
    assert ticket.messages.count() == before


def test_over_long_query_values_are_refused(client, agent):
    client.force_login(agent)
    assert client.get(reverse("desk-tickets"), {"line": "x" * 2_001}).status_code == 400
    assert client.get(reverse("desk-tickets"), {"x" * 2_001: "1"}).status_code == 400
    body = assert_api_error(api(agent).get("/api/v1/tickets/", {"q": "x" * 2_001}))
    assert body["error"] == "too_long"
    # Long values inside the limit reach the view (and its own, tighter, checks).
    assert client.get(reverse("desk-tickets"), {"line": "x" * 2_000}).status_code == 200


def test_over_long_form_values_are_refused_where_no_field_limits_them(client, agent, ticket):
    client.force_login(agent)
    url = reverse("desk-ticket-release", args=[ticket.number])
    services.ticket_take(ticket=ticket, agent=agent)
    assert client.post(url, {"reason": "x" * 100_001}).status_code == 400
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert client.post(url, {"reason": "x" * 1_000}).status_code == 302


def test_an_upload_may_contain_nul_bytes(client, customer, line, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(customer)
    form = {"subject": "s", "body": "b", "category": "general", "urgency": "normal"}
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = client.post(reverse("panel-ticket-new"), {**form, "attachments": SimpleUploadedFile("shot.png", png)})
    assert response.status_code == 302
    assert Attachment.objects.get().file.read() == png
    # Django drops unprintable characters from file names; a NUL in one is no error either.
    bad_name = SimpleUploadedFile("shot\x00.png", png)
    assert client.post(reverse("panel-ticket-new"), {**form, "attachments": bad_name}).status_code == 302
    assert "\x00" not in Attachment.objects.latest("id").original_name


def test_nul_in_a_raw_inbound_email_is_not_refused(client, line, customer, settings, tmp_path):
    # The body of an e-mail is bytes, not text: the endpoint keeps it as it came.
    settings.MEDIA_ROOT = tmp_path
    settings.INBOUND_TOKEN = TOKEN
    Mailbox.objects.create(name="Support", address="support@hosting.example", line=line)
    raw = simple(sender=customer.email, body="hello\x00world")
    assert b"\x00" in raw
    response = client.post(ENDPOINT, raw, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 202, response.content


@pytest.mark.parametrize("name", ["api:ticket-list", "api:inbound-message-list"])
@pytest.mark.parametrize("page", [HUGE, "9" * 1000, "-" + HUGE, "0", "-1", "x", "1e3", "²", "2"])
def test_api_lists_answer_404_for_a_page_that_cannot_exist(agent, ticket, name, page):
    body = assert_api_error(api(agent).get(reverse(name), {"page": page}), status=404)
    assert body["error"] == "not_found"


@pytest.mark.parametrize("page_size", [HUGE, "-1", "x", "²"])
def test_api_lists_ignore_a_page_size_that_is_not_one(agent, ticket, page_size):
    response = api(agent).get(reverse("api:ticket-list"), {"page_size": page_size})
    assert response.status_code == 200


def test_the_balance_ledger_answers_404_past_its_pages(customer):
    assert_api_error(api(customer).get(reverse("api:balance"), {"page": HUGE}), status=404)


@pytest.mark.parametrize("number", ["²", HUGE, "9" * 1000])
def test_inbound_messages_of_a_ticket_number_that_cannot_exist_are_not_a_server_error(agent, number):
    response = api(agent).get(reverse("api:inbound-message-list"), {"ticket": number})
    if response.status_code == 200:
        assert response.json()["results"] == []
    else:
        assert_api_error(response)


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ('{"a": ' * 65 + "1" + "}" * 65, True),
        (json.dumps(["[" * 500, "{" * 500, '\\"[[[['] * 3), False),  # brackets inside strings do not count
        (json.dumps({"k": [[1, 2], {"x": "]]]]"}]}), False),
        ("[]" * 10_000, False),  # many, but side by side
    ],
)
def test_json_depth_counts_brackets_outside_strings(text, deep):
    assert json_too_deep(text) is deep


def test_nul_in_a_cookie_is_400_not_a_session_lookup(client, customer):
    client.force_login(customer)
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert client.get(reverse("panel")).status_code == 400


# --- nasty JSON to the API ----------------------------------------------------------------

JSON_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=30),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x" * 100_001, "first-line", "front", "high", "2031-01-01T10:00"]),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    JSON_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)
# name, URL arguments, who posts, the fields the endpoint reads
JSON_ENDPOINTS = [
    ("api:ticket-list", False, "customer", ["subject", "body", "category", "urgency", "service", "access_data"]),
    ("api:ticket-messages", True, "agent", ["body", "kind", "wait_for_customer"]),
    ("api:ticket-transfer", True, "agent", ["line", "reason"]),
    ("api:ticket-urgency", True, "agent", ["urgency", "reason"]),
    ("api:ticket-promise", True, "agent", ["promised_by", "reason"]),
    ("api:ticket-release", True, "agent", ["reason"]),
    ("api:ticket-boost", True, "customer", ["kind", "idempotency_key"]),
    ("api:queue-take-next", False, "agent", ["line"]),
    ("api:call-list", False, "agent", ["customer", "ticket", "minutes", "subject", "category", "summary"]),
    ("api:me-language", False, "customer", ["language"]),
]


@pytest.mark.parametrize(("name", "by_number", "role", "fields"), JSON_ENDPOINTS, ids=[e[0] for e in JSON_ENDPOINTS])
def test_no_json_body_gets_a_server_error(users_by_role, ticket, name, by_number, role, fields):
    client = api(users_by_role[role])
    url = reverse(name, args=[ticket.number] if by_number else [])
    bodies = st.one_of(
        st.fixed_dictionaries({}, optional={field: JSON_VALUES for field in fields}),
        JSON_VALUES,
        st.sampled_from([65, 1_000, 50_000]).map(lambda depth: "[" * depth + "]" * depth),  # sent as it is
    )

    @hypothesis_settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=bodies)
    def fuzz(body):
        text = body if isinstance(body, str) and body.startswith("[[") else json.dumps(body)
        with transaction.atomic():
            response = client.post(url, text, content_type="application/json")
            transaction.set_rollback(True)
        assert response.status_code < 500, response.content[:300]
        if response.status_code >= 400:
            assert {"error", "detail"} <= set(response.json())

    fuzz()


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=B", "application/x-www-form-urlencoded"])
def test_a_form_in_a_charset_that_is_no_text_encoding_is_400(client, content_type):
    body = b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nIvan\r\n--B--\r\n'
    if content_type.startswith("application"):
        body = b"name=Ivan"
    response = client.generic("POST", reverse("contact"), body, content_type=f"{content_type}; charset=bz2_codec")
    assert response.status_code == 400


@pytest.mark.parametrize("form", [{"on_new_in_line\x00": "true"}, {"on_new_in_line": "true\x00"}])
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_put_forms_to_the_api_are_checked_by_its_parsers(agent, form, encoding):
    # Django parses POSTed forms only: these reach the API's parsers, not the middleware.
    client = api(agent)
    url = reverse("api:me-notifications")
    if encoding == "urlencoded":
        response = client.put(url, urlencode(form), content_type="application/x-www-form-urlencoded")
    else:
        response = client.put(url, form, format="multipart")
    body = assert_api_error(response)
    assert body["error"] == "null_character"
    ok = {"on_new_in_line": "true", "on_transfer_to_my_line": "false", "on_transfer_to_me": "true"}
    assert client.put(url, urlencode(ok), content_type="application/x-www-form-urlencoded").status_code == 200
