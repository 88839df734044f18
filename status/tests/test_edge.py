"""The status page from a server process's memory: Django answers once, the copy the rest."""

import asyncio

import pytest

from status.edge import StatusEdge


class FakeDjango:
    """Counts the requests that reach it and answers like the status view."""

    def __init__(self, cache_control=b"public, max-age=15", cookie=False):
        self.calls: list[dict] = []
        self.cache_control = cache_control
        self.cookie = cookie

    async def __call__(self, scope, receive, send):
        self.calls.append(scope)
        query = scope.get("query_string", b"").decode()
        headers = [
            (b"content-type", b"text/html"),
            (b"etag", b'"v1"'),
            (b"cache-control", self.cache_control),
            (b"content-security-policy", b"default-src 'self'"),
        ]
        if self.cookie:
            headers.append((b"set-cookie", b"csrftoken=x"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": f"page {query}".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"!"})


def get(app, path="/status/", *, method="GET", query=b"", headers=()):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": list(headers)}
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], dict(start["headers"]), body


@pytest.fixture
def fresh(settings):
    settings.STATUS_EDGE_SECONDS = 60
    settings.LANGUAGE_CODE = "en"


def test_django_answers_once_and_the_copy_after(fresh):
    django = FakeDjango()
    edge = StatusEdge(django)
    first = get(edge, headers=[(b"accept-language", b"ru-RU,ru;q=0.9")])
    second = get(edge, headers=[(b"accept-language", b"ru")])
    assert first == second == (200, first[1], b"page lang=ru!")
    assert len(django.calls) == 1 and django.calls[0]["query_string"] == b"lang=ru"
    assert second[1][b"content-security-policy"] == b"default-src 'self'"
    # Another language is another copy.
    assert get(edge)[2] == b"page lang=en!"
    assert get(edge, query=b"lang=en")[2] == b"page lang=en!"
    assert len(django.calls) == 2
    # A cache that has it: 304, no body.
    status, headers, body = get(edge, headers=[(b"if-none-match", b'"v1"')])
    assert (status, body) == (304, b"") and b"content-type" not in headers and headers[b"etag"] == b'"v1"'
    assert get(edge, method="HEAD")[2] == b""
    assert len(django.calls) == 2


def test_signed_in_requests_other_queries_and_other_paths_go_to_django(fresh):
    django = FakeDjango()
    edge = StatusEdge(django)
    get(edge)
    get(edge, headers=[(b"cookie", b"sessionid=abc; django_language=ru")])
    get(edge, query=b"page=2")
    get(edge, path="/panel/")
    assert len(django.calls) == 4


def test_private_answers_and_cookies_are_not_kept(fresh):
    for django in (FakeDjango(cache_control=b"no-store"), FakeDjango(cookie=True)):
        edge = StatusEdge(django)
        get(edge)
        get(edge)
        assert len(django.calls) == 2


def test_the_copy_is_refreshed_after_its_time(settings):
    settings.STATUS_EDGE_SECONDS = 0.0001
    django = FakeDjango()
    edge = StatusEdge(django)
    get(edge)
    import time

    time.sleep(0.01)
    get(edge)
    assert len(django.calls) == 2
    settings.STATUS_EDGE_SECONDS = 0  # off: every request reaches Django
    get(edge)
    assert len(django.calls) == 3
