"""GET /api/v1/me/ answers what the schema says, with and without an organisation."""

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.tests.factories import CustomerFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def me(user):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(reverse("api:me"))
    assert response.status_code == 200
    return response.json()


def test_organisation_is_its_name_or_null_and_the_schema_allows_null():
    assert me(CustomerFactory(organisation=OrganisationFactory(name="Acme")))["organisation"] == "Acme"
    assert me(CustomerFactory(organisation=None))["organisation"] is None
    schema = SchemaGenerator().get_schema(request=None, public=True)
    organisation = schema["components"]["schemas"]["Me"]["properties"]["organisation"]
    assert organisation["nullable"] is True
