"""Every error of the API is JSON in one shape, and the schema says so on every operation."""

import json
import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from helpdesk.api import api_bad_request, api_server_error

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"error", "detail", "field", "errors"}


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def error_of(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert {"error", "detail"} <= set(body) <= ERROR_KEYS, body
    assert isinstance(body["error"], str) and isinstance(body["detail"], str)
    return body


def test_serializer_validation_errors_come_in_the_one_shape_with_every_message(customer):
    body = error_of(api(customer).post(reverse("api:me-language"), {}, format="json"), 400)
    assert body == {
        "error": "required",
        "detail": "This field is required.",
        "field": "language",
        "errors": {"language": ["This field is required."]},
    }


def test_every_invalid_field_is_listed_and_the_first_is_named(customer):
    body = error_of(api().post(reverse("api:token"), {"username": ""}, format="json"), 400)
    assert body["field"] == "username"
    assert body["error"] == "blank"
    assert set(body["errors"]) == {"username", "password"}


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/tickets/abc/", "/api/nothing", "/api/v2/me/"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_addresses_answer_a_json_404(customer, path, method):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(customer)  # a session, so that CSRF would apply
    body = error_of(getattr(client, method)(path), 404)
    assert body["error"] == "not_found"


def test_an_api_address_without_its_slash_is_redirected_for_reading_and_explained_otherwise(customer):
    response = api(customer).get("/api/v1/me?format=json")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/me/?format=json"
    body = error_of(api(customer).post("/api/v1/me/language", {"language": "ru"}, format="json"), 404)
    assert "/api/v1/me/language/" in body["detail"]


def test_pages_outside_the_api_keep_their_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_body_over_the_upload_limit_is_a_json_413(customer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    form = "subject=Disk&body=" + "x" * 4096
    response = api(customer).post(reverse("api:ticket-list"), form, content_type="application/x-www-form-urlencoded")
    assert error_of(response, 413)["error"] == "too_large"
    response = api(customer).post(reverse("api:ticket-list"), {"subject": "Disk", "body": "x" * 4096})  # multipart
    assert error_of(response, 413)["error"] == "too_large"


def test_too_many_fields_is_a_json_400(customer, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    form = "&".join(f"f{i}=x" for i in range(10))
    response = api(customer).post(reverse("api:ticket-list"), form, content_type="application/x-www-form-urlencoded")
    assert error_of(response, 400)["error"] == "too_many_fields"


def test_wrong_method_media_type_and_accept_answer_in_the_shape(customer):
    assert error_of(api(customer).delete(reverse("api:me")), 405)["error"] == "method_not_allowed"
    response = api(customer).post(reverse("api:me-language"), "language=ru", content_type="text/plain")
    assert error_of(response, 415)["error"] == "unsupported_media_type"
    response = api(customer).get(reverse("api:me"), HTTP_ACCEPT="application/xml")
    assert error_of(response, 406)["error"] == "not_acceptable"
    assert error_of(api().get(reverse("api:me")), 403)["error"] == "not_authenticated"


def test_throttled_requests_answer_429_in_the_shape():
    # An address of its own (the throttle counts per address in the shared cache); an empty body,
    # so no password is ever checked: the throttle counts requests, whatever they hold.
    client = APIClient(REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}")
    for _ in range(12):
        response = client.post(reverse("api:token"), {}, format="json")
    body = error_of(response, 429)
    assert body["error"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_handlers_for_api_paths_answer_json(rf):
    request = rf.get("/api/v1/me/")
    response = api_server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"error", "detail"}
    assert api_bad_request(request).status_code == 400


# --- the schema ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_has_one_error_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "detail"}
    assert set(error["properties"]) == ERROR_KEYS
    assert "ApiError" not in schema["components"]["schemas"]


def test_every_operation_documents_the_error_answers_with_the_component(schema):
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) > 30
    for path, method, operation in operations:
        expected = {"400", "401", "403", "404", "409", "429"}
        if "requestBody" in operation:
            expected |= {"413", "415"}
        for code in expected:
            response = operation["responses"].get(code)
            assert response, f"{method.upper()} {path} lacks {code}"
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                f"{method.upper()} {path} {code}"
            )


def test_a_view_keeps_its_own_description_of_an_error(schema):
    responses = schema["paths"]["/api/v1/inbound/email/"]["post"]["responses"]
    assert responses["400"]["description"] == "An empty body or an unknown mailbox."
    assert responses["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
