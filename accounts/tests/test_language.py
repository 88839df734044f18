"""English and Russian from the first page on, with a switch that users keep."""

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_page_is_english_by_default_and_russian_on_request(client):
    assert "Log in" in client.get(reverse("login")).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    html = client.get(reverse("login")).content.decode()
    assert "Войти" in html
    assert 'lang="ru"' in html


def test_accept_language_header_picks_russian(client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9").content.decode()
    assert "Войти" in html


def test_language_switch_sets_the_cookie_and_remembers_the_choice(client, customer):
    client.force_login(customer)
    response = client.post(reverse("set_language"), {"language": "ru", "next": reverse("panel")})
    assert response.status_code == 302
    assert response["Location"] == reverse("panel")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    customer.refresh_from_db()
    assert customer.language == "ru"
    assert "Последние обращения" in client.get(reverse("panel")).content.decode()


def test_language_switch_ignores_foreign_next_urls(client):
    response = client.post(reverse("set_language"), {"language": "ru", "next": "https://evil.example.com/"})
    assert response.status_code == 302
    assert "evil" not in response["Location"]


def test_language_switch_refuses_unknown_languages_for_signed_in_users(client, customer):
    client.force_login(customer)
    response = client.post(reverse("set_language"), {"language": "xx"})
    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.language == "en"


def test_login_switches_to_the_language_the_user_chose_before(client, customer):
    customer.language = "ru"
    customer.save(update_fields=["language"])
    response = client.post(reverse("login"), {"username": customer.username, "password": "secret-password"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"


def test_api_sets_the_language_and_explains_a_bad_one(client, customer):
    client.force_login(customer)
    ok = client.post(reverse("api:me-language"), {"language": "ru"}, content_type="application/json")
    assert ok.status_code == 200
    assert ok.json()["language"] == "ru"
    bad = client.post(reverse("api:me-language"), {"language": "de"}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["error"] == "unsupported_language"
    assert bad.json()["field"] == "language"
    assert "de" in bad.json()["detail"]
