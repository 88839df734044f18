"""The public status answers from each server process's memory, in front of Django.

During an outage the status page is what everybody reloads. Django answers it from the cache
(status.views: rendered once per change, language and minute), yet every request still walks
the middleware stack and a thread hop, about two milliseconds of CPU. This ASGI layer keeps
the last answer Django gave for each public status address and language, and gives it again,
byte for byte and with the same headers (the CSP among them), for STATUS_EDGE_SECONDS; after
that the next request goes through Django and refreshes it, while the others keep getting the
copy. A matching If-None-Match gets a 304.

Only anonymous GET and HEAD requests of the three public addresses, with no query but `lang`,
are answered here: a request that carries a session cookie goes to Django, which marks answers
to signed-in users `no-store` (helpdesk.security.NoStoreMiddleware). Only a public 200 without
cookies is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.utils.translation import trans_real

PATHS = frozenset({"/status/", "/status/status.json", "/status/feed.atom"})
# Headers not repeated on a 304.
BODY_HEADERS = frozenset({b"content-length", b"content-type"})


@dataclass(frozen=True)
class Entry:
    at: float
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


class StatusEdge:
    def __init__(self, app):
        self.app = app
        self.entries: dict[tuple[str, str], Entry] = {}
        self.refreshing: set[tuple[str, str]] = set()

    async def __call__(self, scope, receive, send):
        fresh = settings.STATUS_EDGE_SECONDS
        if fresh <= 0 or scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        if scope["path"] not in PATHS:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        cookies = headers.get(b"cookie", b"").decode("latin-1")
        if f"{settings.SESSION_COOKIE_NAME}=" in cookies:
            return await self.app(scope, receive, send)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any(name != "lang" for name, _value in query):
            return await self.app(scope, receive, send)
        language = self.language(dict(query).get("lang", ""), cookies, headers.get(b"accept-language", b""))
        key = (scope["path"], language)
        entry = self.entries.get(key)
        if entry is not None and (time.monotonic() - entry.at < fresh or key in self.refreshing):
            return await self.replay(entry, scope, headers, send)
        # Through Django, which answers this request; its answer is kept for the next ones.
        self.refreshing.add(key)
        try:
            forwarded = {**scope, "query_string": urlencode({"lang": language}).encode()}
            await self.keep(key, forwarded, receive, send)
        finally:
            self.refreshing.discard(key)

    @staticmethod
    def language(asked: str, cookies: str, accept_language: bytes) -> str:
        """The language Django's LocaleMiddleware would pick (the view honours `lang` first)."""
        codes = [code for code, _name in settings.LANGUAGES]
        if asked in codes:
            return asked
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == settings.LANGUAGE_COOKIE_NAME and value in codes:
                return value
        for accepted, _quality in trans_real.parse_accept_lang_header(accept_language.decode("latin-1")):
            if accepted == "*":
                break
            try:
                return trans_real.get_supported_language_variant(accepted)
            except LookupError:
                continue
        return settings.LANGUAGE_CODE

    async def keep(self, key, scope, receive, send):
        started: dict = {}
        chunks: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self.store(key, scope, started, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def store(self, key, scope, started: dict, body: bytes) -> None:
        if scope["method"] != "GET" or started.get("status") != 200:
            return
        headers = [(bytes(name).lower(), bytes(value)) for name, value in started.get("headers", [])]
        names = dict(headers)
        if b"set-cookie" in names or not names.get(b"cache-control", b"").startswith(b"public"):
            return
        self.entries[key] = Entry(time.monotonic(), headers, body, names.get(b"etag", b""))

    async def replay(self, entry: Entry, scope, request_headers: dict, send) -> None:
        if entry.etag and entry.etag in request_headers.get(b"if-none-match", b""):
            headers = [(name, value) for name, value in entry.headers if name not in BODY_HEADERS]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else entry.body})
