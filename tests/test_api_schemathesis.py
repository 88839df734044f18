"""Schemathesis over every operation of the live OpenAPI schema, in-process through WSGI.

Each operation is called with generated input, valid and invalid, as a customer, as an agent
and without a token; the run fails on a server error (5xx), a status code the schema does not
list for the operation, a response body the schema does not describe, or a content type it
does not name. Tokens come from the documented POST /api/v1/auth/token/, like an integration's.
"""

import itertools
import uuid

import pytest
import schemathesis
import werkzeug.test
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tests.factories import AgentFactory, CustomerFactory
from tickets import services as ticket_services

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

APP = get_wsgi_application()
PASSWORD = "schemathesis-password-1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


# The numbers of the tickets the `helpdesk` fixture opened. The coverage phase calls a ticket's
# operations with number 0, which is no ticket: the calls would all stop at the 404 and never
# read their input. So 0 stands for one of these tickets in turn; other numbers stay missing.
TICKET_NUMBERS: list[int] = []
TURN = itertools.count()


def use_an_existing_ticket(case):
    if TICKET_NUMBERS and (case.path_parameters or {}).get("number") in (0, "0"):
        case.path_parameters["number"] = TICKET_NUMBERS[next(TURN) % len(TICKET_NUMBERS)]


def load_schema(*, coverage: bool, examples: bool) -> schemathesis.BaseSchema:
    """The schema as the running application serves it, with the phases one caller gets.

    Loaded when the module is collected (the lazy loader, schemathesis.pytest.from_fixture,
    does not work with pytest 9); serving the schema reads no database. The coverage phase
    sends each operation the boundary and invalid values its schema defines, and the methods
    it does not allow; the fuzzing phase then sends `max_examples` random valid and invalid ones.
    """
    config = schemathesis.Config.from_dict(
        {
            "phases": {
                "examples": {"enabled": examples},
                "coverage": {"enabled": coverage},
                "stateful": {"enabled": False},
            }
        }
    )
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP, config=config)


@pytest.fixture
def helpdesk(line, customer, agent, settings):
    """A customer with tickets waiting in the agent's line, so some calls find real objects."""
    settings.INBOUND_TOKEN = "schemathesis-inbound-token"  # else the inbound endpoint answers 503
    for user in (customer, agent):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    TICKET_NUMBERS[:] = [
        ticket_services.ticket_create(customer=customer, subject=f"Disk {n} is full", body="Please help").number
        for n in range(3)
    ]
    CustomerFactory(username="customer-b")
    AgentFactory(username="agent-b")


@pytest.fixture
def in_test_transaction():
    """Django closes the database connection at the start and end of each request; the test
    client stops that so that a test's transaction survives its requests, and so does this."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def token_for(user) -> dict:
    """Headers with a token from POST /api/v1/auth/token/, from a client address of its own
    (the endpoint's throttle and lockout count per address)."""
    client = werkzeug.test.Client(APP)
    response = client.post(
        reverse("api:token"),
        json={"username": user.username, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"},
    )
    assert response.status_code in (200, 201), response.get_data()
    return {"Authorization": f"Token {response.get_json()['token']}"}


def call_and_check(case, headers):
    use_an_existing_ticket(case)
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.fixture
def customer_token(helpdesk, customer, in_test_transaction):
    return token_for(customer)


@pytest.fixture
def agent_token(helpdesk, agent, in_test_transaction):
    return token_for(agent)


# Without a token, every operation but the public ones answers 401/403 before it reads its
# input: a few cases each are enough.
anonymous_schema = load_schema(coverage=False, examples=False)


@anonymous_schema.parametrize()
@settings(max_examples=2, **SETTINGS)
def test_without_a_token(case, helpdesk, in_test_transaction):
    call_and_check(case, {})


# A customer's: the schema's examples and random valid and invalid input.
customer_schema = load_schema(coverage=False, examples=True)


@customer_schema.parametrize()
@settings(max_examples=5, **SETTINGS)
def test_as_a_customer(case, customer_token):
    call_and_check(case, customer_token)


# An agent's, who may call most operations: also every boundary and invalid value the schema
# defines (the coverage phase, the bulk of the run), so fewer random ones.
agent_schema = load_schema(coverage=True, examples=True)


@agent_schema.parametrize()
@settings(max_examples=2, **SETTINGS)
def test_as_an_agent(case, agent_token):
    call_and_check(case, agent_token)
