"""The API root, the OpenAPI schema and the one exception handler."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.validation import validate_schema
from rest_framework.exceptions import NotAuthenticated

from helpdesk.api import exception_handler
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (DomainError("Bad subject."), 400, "invalid"),
        (PermissionDenied("Not your line."), 403, "permission_denied"),
        (NotFound("No such ticket."), 404, "not_found"),
        (Conflict("A closed ticket cannot be taken.", code="illegal_transition"), 409, "illegal_transition"),
    ],
)
def test_domain_errors_become_clear_answers(error, status, code):
    response = exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {"error": code, "detail": error.message}


def test_django_validation_errors_become_400_in_the_one_shape():
    error = ValidationError({"subject": [ValidationError("Too long.", code="max_length")], "body": ["Empty."]})
    response = exception_handler(error, {})
    assert response.status_code == 400
    assert response.data == {
        "error": "max_length",
        "detail": "Too long.",
        "field": "subject",
        "errors": {"subject": ["Too long."], "body": ["Empty."]},
    }
    response = exception_handler(ValidationError("Not now."), {})
    assert response.data == {"error": "invalid", "detail": "Not now."}


def test_framework_errors_keep_their_status_and_get_the_same_shape():
    response = exception_handler(NotAuthenticated(), {})
    assert response.status_code == 401
    assert response.data["error"] == "not_authenticated"


@pytest.mark.django_db
def test_api_root_lists_the_entry_points(client):
    body = client.get("/api/v1/").json()
    assert body["me"].endswith("/api/v1/me/")
    assert body["schema"].endswith("/api/schema/")


@pytest.mark.django_db
def test_openapi_schema_is_valid_and_documents_the_api(client):
    response = client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert "/api/v1/me/" in schema["paths"]
    assert "/api/v1/auth/token/" in schema["paths"]


@pytest.mark.django_db
def test_api_docs_page_uses_no_cdn(client):
    html = client.get(reverse("api-docs")).content.decode()
    # Every script and stylesheet comes from this site (a CSRF token may contain "cdn" by chance).
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), re.search(r"(src|href)=\S+", html)
    assert not re.search(r"jsdelivr|unpkg|cdnjs", html, re.I)
    assert "swagger-ui" in html


@pytest.mark.django_db
def test_openapi_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")
