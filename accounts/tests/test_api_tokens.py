"""API tokens: stored as digests, expiring, revoked with the password, listed and revoked by
their owner in the API and on the page."""

import datetime as dt
import hashlib
import logging
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_issue
from accounts.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def issue(client, user, name=None):
    body = {"username": user.username, "password": "secret-password"}
    if name is not None:
        body["name"] = name
    response = client.post(reverse("api:token"), body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def me(key):
    return APIClient().get(reverse("api:me"), HTTP_AUTHORIZATION=f"Token {key}")


# --- issuing ---------------------------------------------------------------------------------


def test_a_token_is_stored_only_as_a_digest(client, customer):
    body = issue(client, customer, name="backup script")
    key = body["token"]
    token = ApiToken.objects.get(pk=body["id"])
    assert token.name == body["name"] == "backup script"
    assert token.key_digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_apitoken WHERE key_digest = %s OR prefix = %s", [key, key])
        assert cursor.fetchone()[0] == 0


def test_a_token_expires_after_the_configured_days(client, customer, settings):
    settings.API_TOKEN_TTL_DAYS = 7
    before = timezone.now()
    body = issue(client, customer)
    token = ApiToken.objects.get(pk=body["id"])
    assert before + dt.timedelta(days=7) <= token.expires_at <= timezone.now() + dt.timedelta(days=7)
    assert body["expires_at"]
    assert me(body["token"]).status_code == 200
    with time_machine.travel(token.expires_at + dt.timedelta(seconds=1)):
        expired = me(body["token"])
    assert expired.status_code in (401, 403)
    assert "expired" in expired.json()["detail"]


def test_every_request_for_a_token_makes_a_new_one_and_the_old_ones_keep_working(client, customer):
    first, second = issue(client, customer, "one"), issue(client, customer, "two")
    assert first["token"] != second["token"]
    assert me(first["token"]).status_code == 200
    assert me(second["token"]).status_code == 200
    assert issue(client, customer)["name"] == "API"


def test_past_the_limit_the_least_recently_used_token_goes(client, customer, settings):
    settings.API_TOKENS_PER_USER = 2
    old, used = issue(client, customer, "old"), issue(client, customer, "used")
    assert me(used["token"]).status_code == 200
    new = issue(client, customer, "new")
    assert set(ApiToken.objects.filter(user=customer).values_list("name", flat=True)) == {"used", "new"}
    assert me(old["token"]).status_code in (401, 403)
    assert me(new["token"]).status_code == 200


def test_a_token_of_a_disabled_account_is_refused(client, customer):
    key = issue(client, customer)["token"]
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    assert me(key).status_code in (401, 403)


def test_using_a_token_records_when(client, customer):
    body = issue(client, customer)
    assert ApiToken.objects.get(pk=body["id"]).last_used_at is None
    me(body["token"])
    assert ApiToken.objects.get(pk=body["id"]).last_used_at is not None


def test_issuing_and_revoking_leave_audit_lines(customer, caplog):
    caplog.set_level(logging.INFO, logger="helpdesk.audit.accounts")
    token, _key = api_token_issue(user=customer, name="ci", via="web")
    from accounts.services import api_token_revoke

    api_token_revoke(user=customer, token_id=token.pk)
    events = [record.audit for record in caplog.records if hasattr(record, "audit")]
    assert [event["event"] for event in events] == ["api_token.issued", "api_token.revoked"]
    assert events[0]["user"] == events[1]["user"] == customer.pk
    assert events[1]["reason"] == "owner"


# --- a new password revokes every token -----------------------------------------------------


def test_changing_the_password_revokes_every_token(client, customer):
    keys = [issue(client, customer, name)["token"] for name in ("a", "b")]
    client.force_login(customer)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "secret-password",
            "new_password1": "a-Much-better-pass-42",
            "new_password2": "a-Much-better-pass-42",
        },
    )
    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=customer).exists()
    assert all(me(key).status_code in (401, 403) for key in keys)


def test_a_password_reset_revokes_every_token(client, customer):
    key = issue(client, customer)["token"]
    client.post(reverse("password_reset"), {"email": customer.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "a-Much-better-pass-42", "new_password2": "a-Much-better-pass-42"})
    assert me(key).status_code in (401, 403)


def test_other_saves_of_the_user_keep_the_tokens(client, customer):
    key = issue(client, customer)["token"]
    customer.first_name = "Renamed"
    customer.save()
    client.post(reverse("login"), {"username": customer.username, "password": "secret-password"})
    assert me(key).status_code == 200


def test_other_users_keep_their_tokens_when_one_changes_the_password(client, customer):
    other = CustomerFactory()
    kept = issue(client, other)["token"]
    issue(client, customer)
    customer.set_password("a-Much-better-pass-42")
    customer.save()
    assert me(kept).status_code == 200


# --- the list and revoking, in the API -------------------------------------------------------


def test_the_api_lists_the_users_own_tokens_without_keys(client, customer):
    mine = issue(client, customer, "mine")
    issue(client, CustomerFactory(), "theirs")
    response = APIClient().get(reverse("api:token-list"), HTTP_AUTHORIZATION=f"Token {mine['token']}")
    assert response.status_code == 200
    [listed] = response.json()
    assert listed["name"] == "mine"
    assert listed["current"] is True
    assert listed["expired"] is False
    assert set(listed) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "expired", "current"}
    assert mine["token"] not in response.content.decode()


def test_a_user_revokes_a_token_through_the_api_and_it_stops_working(client, customer):
    keep, drop = issue(client, customer, "keep"), issue(client, customer, "drop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {keep['token']}")
    assert api.delete(reverse("api:token-detail", args=[drop["id"]])).status_code == 204
    assert me(drop["token"]).status_code in (401, 403)
    assert [token["name"] for token in api.get(reverse("api:token-list")).json()] == ["keep"]


def test_nobody_revokes_another_users_token(client, customer):
    theirs = issue(client, CustomerFactory())
    api = APIClient()
    api.force_authenticate(customer)
    response = api.delete(reverse("api:token-detail", args=[theirs["id"]]))
    assert response.status_code == 404
    assert me(theirs["token"]).status_code == 200


def test_the_schema_describes_the_token_endpoints(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "get" in schema["paths"]["/api/v1/auth/tokens/"]
    assert "delete" in schema["paths"]["/api/v1/auth/tokens/{id}/"]
    issued = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["200"]["content"]["application/json"]
    ref = issued["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"token", "expires_at"} <= set(schema["components"]["schemas"][ref]["properties"])


# --- the page --------------------------------------------------------------------------------


def test_the_user_menu_leads_to_the_token_page(client, agent):
    client.force_login(agent)
    assert f'href="{reverse("api-tokens")}"' in client.get(reverse("desk")).content.decode()


def test_the_page_makes_a_token_shows_its_key_once_and_lists_it(client, customer):
    client.force_login(customer)
    made = client.post(reverse("api-tokens"), {"name": "monitoring"})
    assert made.status_code == 201
    key = made.context["new_key"]
    assert key in made.content.decode()
    assert me(key).status_code == 200
    page = client.get(reverse("api-tokens")).content.decode()
    assert "monitoring" in page
    assert key[:8] in page
    assert key not in page


def test_the_page_revokes_a_token(client, customer):
    client.force_login(customer)
    body = issue(client, customer, "old script")
    response = client.post(reverse("api-token-revoke", args=[body["id"]]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("api-tokens")
    assert "old script" not in response.content.decode()
    assert me(body["token"]).status_code in (401, 403)


def test_the_page_does_not_revoke_another_users_token(client, customer):
    theirs = issue(client, CustomerFactory())
    client.force_login(customer)
    assert client.post(reverse("api-token-revoke", args=[theirs["id"]])).status_code == 404
    assert me(theirs["token"]).status_code == 200


def test_the_page_needs_a_login(client):
    response = client.get(reverse("api-tokens"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
