"""Login lockout (django-axes): the web login, the admin login and the API token endpoint
share one count per username and client address."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

RIGHT = "secret-password"


def login(client, user, password, **headers):
    return client.post(reverse("login"), {"username": user.username, "password": password}, **headers)


def fail(client, user, times, **headers):
    return [login(client, user, "wrong", **headers).status_code for _ in range(times)]


def api_token(client, user, password, **headers):
    return client.post(
        reverse("api:token"),
        {"username": user.username, "password": password},
        content_type="application/json",
        **headers,
    )


def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(client, customer, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert fail(client, customer, 4) == [200, 200, 200, 200]
    fifth = login(client, customer, "wrong")
    assert fifth.status_code == 429
    right = login(client, customer, RIGHT)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    page = right.content.decode()
    assert "Logging in is paused" in page
    assert "15 minutes" in page
    assert reverse("password_reset") in page


def test_a_spoofed_forwarded_for_does_not_reset_the_lockout(client, customer):
    statuses = [
        login(client, customer, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(1, 6)
    ]
    assert statuses[-1] == 429
    assert login(client, customer, RIGHT, HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_the_lock_holds_the_username_at_that_address_only(client, customer):
    fail(client, customer, 5)
    # The same person from another address, and another account from this one, still log in.
    elsewhere = login(client, customer, RIGHT, REMOTE_ADDR="198.51.100.7")
    assert elsewhere.status_code == 302
    client.post(reverse("logout"))
    from accounts.tests.factories import CustomerFactory

    neighbour = CustomerFactory()
    assert login(client, neighbour, RIGHT).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, customer):
    fail(client, customer, 5)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        assert login(client, customer, RIGHT).status_code == 302


def test_a_successful_login_clears_earlier_failures(client, customer):
    fail(client, customer, 4)
    assert login(client, customer, RIGHT).status_code == 302
    client.post(reverse("logout"))
    assert fail(client, customer, 4) == [200, 200, 200, 200]


def test_the_admin_login_is_locked_out_too(client, users_by_role):
    admin = users_by_role["admin"]
    url = reverse("admin:login")
    for _ in range(5):
        client.post(url, {"username": admin.username, "password": "wrong"})
    response = client.post(url, {"username": admin.username, "password": RIGHT})
    assert response.status_code == 429
    assert "Logging in is paused" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_administrator_unlocks_with_axes_reset_username(client, customer):
    fail(client, customer, 5)
    call_command("axes_reset_username", customer.username)
    assert login(client, customer, RIGHT).status_code == 302


def test_the_admin_lists_the_locked_attempts_for_unlocking(client, customer, users_by_role):
    fail(client, customer, 5)
    client.force_login(users_by_role["admin"])
    page = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert page.status_code == 200
    assert customer.username in page.content.decode()


def test_the_token_endpoint_refuses_an_account_locked_on_the_login_page(client, customer):
    fail(client, customer, 5)
    response = api_token(client, customer, RIGHT)
    assert response.status_code == 429
    assert response.json()["error"] == "locked_out"


def test_wrong_passwords_at_the_token_endpoint_lock_the_login_page(client, customer):
    codes = [api_token(client, customer, "wrong").json()["error"] for _ in range(5)]
    assert codes == ["invalid_credentials"] * 4 + ["locked_out"]
    assert login(client, customer, RIGHT).status_code == 429


def test_a_spoofed_forwarded_for_does_not_reset_the_lockout_of_the_token_endpoint(client, customer):
    for n in range(5):
        api_token(client, customer, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert api_token(client, customer, RIGHT, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


def test_a_password_reset_lifts_the_lock_of_that_username(client, customer):
    fail(client, customer, 5)
    customer.set_password("a-Much-better-pass-42")
    customer.save()
    assert login(client, customer, "a-Much-better-pass-42").status_code == 302


def test_a_username_longer_than_any_account_counts_without_breaking_the_page(client):
    name = "x" * 1001
    statuses = [client.post(reverse("login"), {"username": name, "password": "wrong"}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert AccessAttempt.objects.get().username == "x" * 255
