"""Keys made by DRF's one-token-per-user table keep working once, as expiring tokens."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

adopt_drf_tokens = importlib.import_module("accounts.migrations.0002_api_tokens").adopt_drf_tokens


def test_drf_tokens_become_digests_and_the_readable_table_goes(customer):
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
            "user_id bigint NOT NULL UNIQUE)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [key, customer.pk])
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('authtoken', '0001_initial', now())")

    adopt_drf_tokens(apps, SimpleNamespace(connection=connection))

    token = ApiToken.objects.get(user=customer)
    assert token.prefix == key[:8]
    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone()[0] == 0
    response = APIClient().get(reverse("api:me"), HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["username"] == customer.username


def test_a_database_without_drf_tokens_is_left_alone(customer):
    adopt_drf_tokens(apps, SimpleNamespace(connection=connection))
    assert not ApiToken.objects.exists()
