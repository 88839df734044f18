"""Login, roles and who may enter which area, through pages and the API."""

import pytest
from django.urls import reverse

from accounts.models import Role

pytestmark = pytest.mark.django_db

# area -> roles that may enter it
ALLOWED = {
    "panel": {Role.CUSTOMER},
    "desk": {Role.AGENT, Role.MANAGER, Role.QUALITY, Role.ADMIN},
    "manage": {Role.MANAGER, Role.QUALITY, Role.ADMIN},
}


@pytest.mark.parametrize("area", sorted(ALLOWED))
def test_anonymous_visitors_are_sent_to_login(client, area):
    response = client.get(reverse(area))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("area", sorted(ALLOWED))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_enters_only_its_areas(client, users_by_role, area, role):
    client.force_login(users_by_role[role])
    response = client.get(reverse(area))
    assert response.status_code == (200 if role in ALLOWED[area] else 403)


@pytest.mark.parametrize(
    ("role", "landing"),
    [(Role.CUSTOMER, "panel"), (Role.AGENT, "desk"), (Role.MANAGER, "manage"), (Role.QUALITY, "manage")],
)
def test_login_form_signs_in_and_lands_in_the_role_area(client, users_by_role, role, landing):
    user = users_by_role[role]
    response = client.post(reverse("login"), {"username": user.username, "password": "secret-password"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(landing)
    assert response.context["user"] == user


def test_login_with_a_wrong_password_shows_an_error_and_signs_nobody_in(client, customer):
    response = client.post(reverse("login"), {"username": customer.username, "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, customer):
    client.force_login(customer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("panel")).status_code == 302


def test_navigation_shows_only_the_areas_of_the_role(client, users_by_role):
    client.force_login(users_by_role[Role.AGENT])
    html = client.get(reverse("desk")).content.decode()
    assert f'href="{reverse("desk")}"' in html
    assert f'href="{reverse("manage")}"' not in html
    assert f'href="{reverse("panel")}"' not in html


def test_api_token_is_issued_for_good_credentials_and_authenticates(client, customer):
    response = client.post(
        reverse("api:token"),
        {"username": customer.username, "password": "secret-password"},
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["username"] == customer.username
    assert me.json()["role"] == "customer"


def test_api_token_refuses_wrong_credentials_with_a_clear_error(client, customer):
    response = client.post(
        reverse("api:token"), {"username": customer.username, "password": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_credentials"


def test_api_refuses_anonymous_callers(client):
    response = client.get(reverse("api:me"))
    assert response.status_code in (401, 403)
    assert response.json()["error"] == "not_authenticated"


def test_api_session_auth_works_for_signed_in_users(client, agent):
    client.force_login(agent)
    assert client.get(reverse("api:me")).json()["role"] == "agent"
