"""The 403, 404 and 500 pages: each area's own, in English and Russian, with a way back;
JSON under /api/; never Django's debug pages."""

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "ru"]
NOT_FOUND = {
    "panel": {
        "en": "There is no such page in your control panel.",
        "ru": "В вашей панели управления нет такой страницы.",
    },
    "desk": {"en": "There is no such page in the workspace.", "ru": "На рабочем месте нет такой страницы."},
    "manage": {
        "en": "There is no such page in management.",
        "ru": "В разделе управления нет такой страницы.",
    },
    "public": {"en": "There is no page at this address.", "ru": "По этому адресу ничего нет."},
}
FORBIDDEN = {
    "panel": {
        "en": "This part of the helpdesk is for the support team.",
        "ru": "Этот раздел предназначен для сотрудников поддержки.",
    },
    "desk": {
        "en": "Your role does not open this page.",
        "ru": "Ваша роль не даёт доступа к этой странице.",
    },
    "manage": {
        "en": "This page is meant for another role.",
        "ru": "Эта страница предназначена для другой роли.",
    },
}
SERVER_ERROR = {
    "panel": {"en": "If you were sending a message", "ru": "Если вы отправляли сообщение"},
    "desk": {"en": "If you were changing a ticket", "ru": "Если вы меняли обращение"},
    "manage": {"en": "If you were changing a setting", "ru": "Если вы меняли настройку"},
    "public": {"en": "Please try again in a few minutes.", "ru": "Попробуйте ещё раз через несколько минут."},
}
WAY_BACK = {
    "panel": {"en": "Back to your control panel", "ru": "Вернуться в панель управления"},
    "desk": {"en": "Back to the workspace", "ru": "Вернуться на рабочее место"},
    "manage": {"en": "Back to management", "ru": "Вернуться в управление"},
    "public": {"en": "Go to the start page", "ru": "На главную страницу"},
}
BACK_URL = {"panel": "/panel/", "desk": "/desk/", "manage": "/manage/", "public": "/"}


def speak(client, language):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language


def assert_error_page(response, *, status, area, language, text):
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f'lang="{language}"' in html
    assert f'data-area="{area}"' in html
    assert text[area][language] in html
    assert WAY_BACK[area][language] in html
    assert f'href="{BACK_URL[area]}" data-testid="way-back"' in html
    # Not Django's debug page, and under the site's policy.
    assert "URLconf" not in html and "Traceback" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    return html


def test_the_test_settings_run_without_debug():
    # The handlers only answer with DEBUG off; the settings under test must be those of the product.
    assert django_settings.DEBUG is False


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("area", "user_fixture", "path"),
    [
        ("panel", "customer", "/panel/tickets/999999/"),
        ("desk", "agent", "/desk/tickets/999999/"),
        ("manage", "manager", "/manage/nothing-here/"),
    ],
)
def test_404_of_each_area(client, request, language, area, user_fixture, path):
    client.force_login(request.getfixturevalue(user_fixture))
    speak(client, language)
    html = assert_error_page(client.get(path), status=404, area=area, language=language, text=NOT_FOUND)
    assert path in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_404_outside_the_areas_for_an_anonymous_visitor(client, language):
    speak(client, language)
    assert_error_page(client.get("/no-such-page/"), status=404, area="public", language=language, text=NOT_FOUND)


def test_404_path_is_escaped(client):
    html = client.get("/help/<script>alert(1)</script>/").content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_404_outside_the_areas_for_a_signed_in_user_leads_to_their_own_area(client, agent):
    client.force_login(agent)
    assert_error_page(client.get("/no-such-page/"), status=404, area="desk", language="en", text=NOT_FOUND)


def test_404_in_an_area_the_user_may_not_enter_leads_to_their_own_area(client, customer):
    client.force_login(customer)
    assert_error_page(client.get("/manage/nothing-here/"), status=404, area="panel", language="en", text=NOT_FOUND)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("area", "user_fixture", "path"),
    [
        # A customer who follows a workspace link, an agent who opens management, a manager
        # who opens a customer's panel: each is answered in, and led back to, their own area.
        ("panel", "customer", "/desk/"),
        ("desk", "agent", "/manage/"),
        ("manage", "manager", "/panel/"),
    ],
)
def test_403_of_each_area(client, request, language, area, user_fixture, path):
    client.force_login(request.getfixturevalue(user_fixture))
    speak(client, language)
    assert_error_page(client.get(path), status=403, area=area, language=language, text=FORBIDDEN)


@pytest.fixture
def failing_site(client, settings):
    settings.ROOT_URLCONF = "helpdesk.tests.error_urls"
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("area", "user_fixture"),
    [("panel", "customer"), ("desk", "agent"), ("manage", "manager"), ("public", None)],
)
def test_500_of_each_area(failing_site, request, caplog, language, area, user_fixture):
    if user_fixture:
        failing_site.force_login(request.getfixturevalue(user_fixture))
    speak(failing_site, language)
    path = f"/{area}/fail/" if area != "public" else "/help/fail/"
    html = assert_error_page(failing_site.get(path), status=500, area=area, language=language, text=SERVER_ERROR)
    assert "a failure the 500 page must hide" not in html
    # Still logged for the people who run the site.
    assert "a failure the 500 page must hide" in caplog.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_api_paths_answer_json(client, failing_site, customer, language):
    client.force_login(customer)
    speak(client, language)
    missing = client.get("/api/v1/no-such-endpoint/")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert missing.json()["error"] == "not_found"
    failed = client.get("/api/v1/fail/")
    assert failed.status_code == 500
    assert failed.json()["error"] == "server_error"
    assert "a failure" not in failed.content.decode()
