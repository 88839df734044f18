"""Headers of every answer: the Content-Security-Policy, `Cache-Control: no-store` for
signed-in users, and no markup in the templates that the policy would refuse."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.urls import reverse

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)
STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


def assert_strict(response):
    directives = policy(response)
    for name, value in STRICT.items():
        assert directives.get(name) == value, (name, directives)
    assert "unsafe" not in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("user_fixture", "url"),
    [
        (None, "/accounts/login/"),
        (None, "/help/contact/"),
        ("customer", "/panel/"),
        ("agent", "/desk/"),
        ("manager", "/manage/"),
        ("manager", "/no-such-page/"),
    ],
)
def test_every_page_carries_the_strict_policy(client, request, user_fixture, url):
    if user_fixture:
        client.force_login(request.getfixturevalue(user_fixture))
    response = client.get(url)
    assert response.status_code in (200, 404)
    assert_strict(response)


def test_the_admin_works_under_the_strict_policy(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert_strict(response)


def test_swagger_ui_gets_inline_styles_but_never_inline_scripts(admin_client):
    page = admin_client.get(reverse("api-docs"))
    assert page.status_code == 200
    directives = policy(page)
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert directives["frame-ancestors"] == "'none'"
    html = page.content.decode()
    # Swagger UI's start-up script is a file of ours, not an inline <script>.
    assert not re.search(r"<script>\s*\S", html)
    (script_url,) = re.findall(r'<script src="([^"]*script[^"]*)"', html)
    script = admin_client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_browsable_api_gets_inline_styles_but_never_inline_scripts(client, customer):
    client.force_login(customer)
    response = client.get("/api/v1/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert "data:" not in directives["img-src"]


# --- Cache-Control -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_fixture", "url"),
    [
        ("customer", "/panel/"),
        ("customer", "/panel/tickets/"),
        ("agent", "/desk/"),
        ("manager", "/manage/"),
        ("customer", "/api/v1/tickets/"),
        ("agent", "/no-such-page/"),
    ],
)
def test_answers_to_signed_in_users_are_never_stored(client, request, user_fixture, url):
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get(url)["Cache-Control"] == "no-store"


def test_a_page_with_a_csrf_token_is_never_stored(client):
    assert client.get(reverse("login"))["Cache-Control"] == "no-store"


def test_anonymous_answers_without_a_form_may_be_cached(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_static_files_keep_their_cache_lifetime_for_signed_in_users(client, customer):
    client.force_login(customer)
    response = client.get("/static/helpdesk/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Templates -----------------------------------------------------------------------------

# E-mail templates keep inline styles: mail clients ignore stylesheets, and no CSP applies there.
EMAIL_TEMPLATES = re.compile(r"/email/|_email\.|\.txt$")
FORBIDDEN_MARKUP = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style[\s>]", re.IGNORECASE),
}


def project_templates() -> list[Path]:
    directories = {Path(d) for d in engines["django"].engine.dirs}
    directories |= {path for path in BASE_DIR.glob("*/templates") if ".venv" not in path.parts}
    return sorted(
        path
        for directory in directories
        for path in directory.rglob("*")
        if path.is_file() and not EMAIL_TEMPLATES.search(str(path))
    )


def test_templates_hold_nothing_the_policy_refuses():
    found = []
    templates = project_templates()
    assert any(path.name == "base.html" for path in templates)
    for path in templates:
        text = path.read_text()
        found += [
            f"{path.relative_to(BASE_DIR)}: {what}"
            for what, pattern in FORBIDDEN_MARKUP.items()
            if pattern.search(text)
        ]
    assert not found, "\n".join(found)


def test_the_template_check_finds_what_it_looks_for():
    samples = {
        "inline script": "<script>alert(1)</script>",
        "event handler attribute": '<button onclick="go()">',
        "javascript: URL": '<a href="javascript:go()">',
        "style attribute": '<div class="card" style="margin: 0">',
        "style element": "<style>p {}</style>",
    }
    for what, sample in samples.items():
        assert FORBIDDEN_MARKUP[what].search(sample), what
    assert not FORBIDDEN_MARKUP["inline script"].search('<script src="/static/app.js" defer></script>')
