"""A client cannot reset the limits keyed on its address by sending X-Forwarded-For.

Two layers: Django with the address the server gives it, and the deployed chain, where the
image's own uvicorn command decides which forwarded headers are believed."""

import asyncio
import uuid
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.core.asgi import get_asgi_application
from django.db import close_old_connections
from django.urls import reverse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from knowledge.tests.helpers import form_data
from tests.deployment import dockerfile_web_command, forwarded_allow_ips, uvicorn_argv

pytestmark = pytest.mark.django_db

CLIENT = "198.51.100.7"
CSRF = "k" * 32


@pytest.fixture(autouse=True)
def own_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


def wrong_token_request(client, n, **headers):
    # Another username each time: this is about the throttle, not the login lockout.
    return client.post(
        reverse("api:token"),
        {"username": f"nobody-{n}", "password": "x"},
        content_type="application/json",
        **headers,
    )


# --- Django: the address the server gave ----------------------------------------------------


def test_the_token_throttle_is_not_reset_by_x_forwarded_for(client):
    statuses = [wrong_token_request(client, n, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(11)]
    assert statuses == [400] * 10 + [429]


def test_the_contact_limit_is_not_reset_by_x_forwarded_for(client, settings):
    settings.CONTACT_RATE_PER_HOUR = 2
    statuses = [
        client.post(
            reverse("contact"), form_data(email=f"visitor{n}@example.org"), HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(3)
    ]
    assert statuses[-1] == 429
    assert 429 not in statuses[:2]


# --- the deployed chain: the image's uvicorn in front of Django -----------------------------


@pytest.fixture(scope="module")
def deployed_app():
    """Django behind uvicorn's proxy-headers middleware, trusting what the Dockerfile tells it."""
    trusted = forwarded_allow_ips(uvicorn_argv(dockerfile_web_command()))
    return ProxyHeadersMiddleware(get_asgi_application(), trusted_hosts=trusted)


@pytest.fixture
def send(deployed_app):
    """POST through the chain from `peer`; returns (status, body)."""
    # As Django's own test clients do: a request must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    def post(path, body: bytes, content_type: str, *, peer: str, forwarded_for: str | None = None):
        headers = [
            (b"host", b"testserver"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", f"csrftoken={CSRF}".encode()),
        ]
        if forwarded_for:
            headers.append((b"x-forwarded-for", forwarded_for.encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": (peer, 40000),
            "server": ("testserver", 8000),
        }
        return async_to_sync(call)(deployed_app, scope, body)

    yield post
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


async def call(app, scope, body):
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # the client stays connected; Django cancels this wait

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


def token_body(n):
    return f'{{"username": "nobody-{n}", "password": "x"}}'.encode()


def test_behind_the_deployed_uvicorn_a_client_cannot_pick_its_address_for_the_token_throttle(send):
    statuses = [
        send(reverse("api:token"), token_body(n), "application/json", peer=CLIENT, forwarded_for=f"203.0.113.{n}")[0]
        for n in range(11)
    ]
    assert statuses == [400] * 10 + [429]


def test_behind_the_deployed_uvicorn_a_trusted_proxy_still_names_each_client(send):
    # The default trusts loopback only: a proxy on the same host passes the real clients on.
    statuses = [
        send(reverse("api:token"), token_body(n), "application/json", peer="127.0.0.1", forwarded_for=f"203.0.113.{n}")[
            0
        ]
        for n in range(11)
    ]
    assert statuses == [400] * 11


def test_behind_the_deployed_uvicorn_a_client_cannot_pick_its_address_for_the_contact_limit(send, settings):
    settings.CONTACT_RATE_PER_HOUR = 2
    statuses = []
    for n in range(3):
        form = {**form_data(email=f"visitor{n}@example.org"), "csrfmiddlewaretoken": CSRF}
        status, _body = send(
            reverse("contact"),
            urlencode(form).encode(),
            "application/x-www-form-urlencoded",
            peer=CLIENT,
            forwarded_for=f"203.0.113.{n}",
        )
        statuses.append(status)
    assert statuses[-1] == 429
    assert 429 not in statuses[:2]
