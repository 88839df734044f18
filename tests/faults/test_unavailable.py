"""The database failing for a moment (a connection killed, a restart, a deadlock) is a 503 that
says to try again, in the API's error shape under /api/ and as a page elsewhere; never a 500,
and never a traceback. Wherever it fails: in a DRF view, in a Django view, in a middleware
reading the session. (tests/faults/test_database_killed.py kills real connections under load.)"""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError

from tickets import selectors
from tickets.api import views as api_views

pytestmark = pytest.mark.django_db

LOST = "terminating connection due to administrator command"


@pytest.fixture
def site(client):
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("error", [OperationalError(LOST), InterfaceError("connection already closed")])
def test_an_api_call_whose_database_fails_is_a_503_in_the_error_shape(site, customer, monkeypatch, error):
    site.force_login(customer)

    def fails(**kwargs):
        raise error

    monkeypatch.setattr(api_views.selectors, "ticket_list", fails)
    response = site.get("/api/v1/tickets/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "error": "unavailable",
        "detail": "The service is unavailable for a moment; nothing was changed. Try again shortly.",
    }
    assert "administrator" not in response.content.decode()


def test_a_page_whose_database_fails_is_a_503_page(site, customer, monkeypatch):
    site.force_login(customer)

    def fails(**kwargs):
        raise OperationalError(LOST)

    monkeypatch.setattr(selectors, "ticket_list", fails)
    response = site.get("/panel/tickets/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    html = response.content.decode()
    assert "The helpdesk is unavailable for a moment" in html
    assert "Nothing was changed" in html
    assert "Traceback" not in html and "administrator" not in html


def test_the_session_read_failing_in_a_middleware_is_a_503_too(site, customer, monkeypatch):
    site.force_login(customer)

    def fails(self):
        raise OperationalError(LOST)

    monkeypatch.setattr(SessionStore, "_get_session_from_db", fails)
    assert site.get("/panel/tickets/").status_code == 503
    api = site.get("/api/v1/me/")
    assert api.status_code == 503
    assert api.json()["error"] == "unavailable"


def test_a_bug_is_still_a_500(site, customer, monkeypatch):
    site.force_login(customer)

    def fails(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api_views.selectors, "ticket_list", fails)
    response = site.get("/api/v1/tickets/")
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"


def test_the_schema_lists_503_on_every_operation():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert "503" in operation["responses"], f"{method.upper()} {path}"
