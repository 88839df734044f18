"""Fuzzing every web page and form: no text a browser (or anyone) can send gets a 5xx.

The pages come from the URLconf, so a new page is fuzzed without touching this file. Each is
opened as a user of its area; the forms on the pages tell which fields each address takes
(and the choices of its selects). Then hypothesis sends generated values to every field and
query parameter: NUL bytes, lone surrogates (as the invalid UTF-8 a client would send),
very long strings, huge and odd numbers, dates out of range, plus fields nobody expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, quote_plus, urljoin, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from accounts.tests.factories import CustomerFactory
from knowledge.services import follow_token
from queues import services as queue_services
from queues.models import BoostKind, BoostPrice
from tickets import services

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Enough for each field to get each kind of trouble now and then, without taking minutes.
EXAMPLES_MIN, EXAMPLES_PER_FIELD, EXAMPLES_MAX = 10, 4, 60
# Who opens the pages under each prefix (the first that matches; None: nobody signed in).
ROLES = [
    ("panel/", "customer"),
    ("desk/", "agent"),
    ("manage/", "manager"),
    ("accounts/login/", None),
    ("accounts/password/reset/", None),
    ("accounts/", "customer"),
    ("help/", None),
    ("i18n/", "customer"),
    ("", "customer"),
]
NOT_FUZZED = ("admin/", "api/", "static/")  # Django's admin; the API has its own schema-driven fuzzing


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            continue  # regular-expression routes: the admin's catch-alls, the API's JSON 404
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


ROUTES = sorted({route for route in _routes(get_resolver().url_patterns) if not route.startswith(NOT_FUZZED)})
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def role_for(route: str) -> str | None:
    return next(role for prefix, role in ROLES if route.startswith(prefix))


# --- what the pages' forms say about each address -----------------------------------------


@dataclass
class Fields:
    """The fields seen in forms that send to one address, by method."""

    names: dict[str, list[str]] = field(default_factory=dict)  # name -> its choices (or its value)
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type, "select" or "textarea"
    files: set[str] = field(default_factory=set)

    def add(self, name: str, value: str | None, kind: str = "text") -> None:
        self.names.setdefault(name, [])
        self.kinds.setdefault(name, kind)
        if value is not None and value not in self.names[name]:
            self.names[name].append(value)


class FormFinder(HTMLParser):
    """Forms (action, method, fields) and htmx addresses on one page."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[tuple[str, str, Fields]] = []
        self.htmx: list[tuple[str, str]] = []
        self.links: list[str] = []  # links with a query string: their parameters are fields too
        self._form: Fields | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "?" in (attrs.get("href") or ""):
            self.links.append(urljoin(self.page_url, attrs["href"]))
        for method in ("get", "post"):
            if attrs.get(f"hx-{method}"):
                self.htmx.append((method.upper(), urljoin(self.page_url, attrs[f"hx-{method}"])))
        if tag == "form":
            self._form = Fields()
            action = urljoin(self.page_url, attrs.get("action") or self.page_url)
            self.forms.append(((attrs.get("method") or "get").upper(), action, self._form))
        elif self._form is None or (not attrs.get("name") and tag != "option"):
            return
        elif tag == "input" and attrs.get("type") == "file":
            self._form.files.add(attrs["name"])
        elif tag in ("input", "button"):
            self._form.add(attrs["name"], attrs.get("value"), attrs.get("type") or "text")
        elif tag == "textarea":
            self._form.add(attrs["name"], None, "textarea")
        elif tag == "select":
            self._select = attrs["name"]
            self._form.add(self._select, None, "select")
        elif tag == "option" and self._select is not None:
            self._form.add(self._select, attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def route_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc not in ("", "testserver"):
        return None
    try:
        return resolve(parts.path).route
    except Resolver404:
        return None


# --- the data every page needs ------------------------------------------------------------


@pytest.fixture
def world(users_by_role, line, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    BoostPrice.objects.create(kind=BoostKind.FRONT, price=Decimal(100))
    BoostPrice.objects.create(kind=BoostKind.BEHIND_FIRST, price=Decimal(50))
    services.ticket_create(customer=CustomerFactory(username="ahead"), subject="Ahead", body="First in line")
    customer = users_by_role["customer"]
    ticket = services.ticket_create(customer=customer, subject="Site is down", body="Since noon", access_data="pw")
    queue_services.balance_credit(customer=customer, amount=Decimal(500), description="top-up")
    values = {
        "number": str(ticket.number),
        "pk": "1",
        "uidb64": urlsafe_base64_encode(force_bytes(customer.pk)),
        "token": default_token_generator.make_token(customer),
        "follow": follow_token(ticket),
    }
    return {"users": users_by_role, "values": values}


def concrete(route: str, values: dict, fuzzed: dict | None = None) -> str:
    """The route with its parameters filled in: real values, or the fuzzed ones given."""

    def fill(match):
        name = match["name"]
        if fuzzed and name in fuzzed:
            return fuzzed[name]
        return values["follow"] if route.startswith("help/follow/") and name == "token" else values.get(name, "1")

    return "/" + PARAMETER.sub(fill, route)


def discover(client, world) -> dict[tuple[str, str], Fields]:
    """Open every page as its area's user; gather the fields of every form by address."""
    found: dict[tuple[str, str], Fields] = {}
    for route in ROUTES:
        role = role_for(route)
        client.logout()
        if role is not None:
            client.force_login(world["users"][role])
        url = concrete(route, world["values"])
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        finder = FormFinder("http://testserver" + url)
        finder.feed(response.content.decode())
        targets = [*finder.forms, *((method, action, Fields()) for method, action in finder.htmx)]
        for link in finder.links:
            query = Fields()
            for name, value in parse_qsl(urlsplit(link).query, keep_blank_values=True):
                query.add(name, value)
            targets.append(("GET", link, query))
        for method, action, fields in targets:
            target = route_of(action)
            if target is None or target.startswith(NOT_FUZZED):
                continue
            known = found.setdefault((target, method), Fields())
            for name, choices in fields.names.items():
                for choice in choices or [None]:
                    known.add(name, choice, fields.kinds[name])
            known.files |= fields.files
    client.logout()
    return found


_discovered: dict[tuple[str, str], Fields] | None = None


@pytest.fixture
def forms(client, world):
    # Field names do not depend on the data; discovering them once is enough for every test.
    global _discovered
    if _discovered is None:
        _discovered = discover(client, world)
    return _discovered


# --- the values ---------------------------------------------------------------------------

NUMBERISH = ["-1", "0", "1.5", "1e309", "NaN", "-Infinity", "²", "١٢٣", "0x10", "9" * 40, str(2**63), str(2**64)]
ODD = [
    "",
    " ",
    "%00",
    "\U0001f600",
    "\u202e",
    "\r\n\r\n",
    "2024-13-45T25:61",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "[]",
]
TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
# Each kind of trouble about as likely as the others (one_of picks its branches evenly).
VALUES = st.one_of(
    st.sampled_from(["\x00", "a\x00b", "first-line\x00", "customer-a\x00"]),  # PostgreSQL stores no NUL
    st.sampled_from(["\ud800", "x\udfffy"]),  # lone surrogates, sent as the invalid UTF-8 they become
    st.sampled_from([201, 1_001, 2_001, 50_001, 100_001]).map(lambda n: "x" * n),
    st.integers(-(2**70), 2**70).map(str) | st.sampled_from(NUMBERISH),
    st.sampled_from(ODD),
    TEXT,
)


def encode(text: str) -> bytes:
    # A lone surrogate leaves a client as the invalid UTF-8 it would send.
    return text.encode("utf-8", "surrogatepass")


def urlencoded(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote_plus(encode(name))}={quote_plus(encode(value))}" for name, value in pairs)


# What passes for a sensible value, by field name and then by input type: most fields of an
# example get one, so the nasty value in the others reaches code past the form's validation.
SENSIBLE_BY_NAME = {
    "customer": "customer-a",
    "username": "customer-a",
    "email": "customer-a@example.com",
    "line": "first-line",
    "minutes": "5",
    "kind": "front",
    "language": "ru",
}
SENSIBLE_BY_KIND = {
    "number": "3",
    "email": "someone@example.com",
    "datetime-local": "2031-05-04T10:30",
    "date": "2031-05-04",
    "checkbox": "on",
}


def sensible(name: str, kind: str, choices: list[str]) -> str:
    if choices:
        return choices[0]
    return SENSIBLE_BY_NAME.get(name) or SENSIBLE_BY_KIND.get(kind, "Something sensible")


@st.composite
def submissions(draw, fields: Fields, extra_names: list[str]):
    """(name, value) pairs: one to three fields nasty, the others sensible (or left out), so the
    nasty values reach the code behind the forms' validation."""
    names = sorted(fields.names)
    nasty = draw(st.sets(st.sampled_from(names), min_size=1, max_size=3)) if names else set()
    pairs = []
    for name in names:
        choices = fields.names[name]
        if name in nasty:
            pairs.append((name, draw(VALUES)))
        elif draw(st.integers(0, 7)) > 0:
            pairs.append((name, sensible(name, fields.kinds.get(name, "text"), choices)))
    if not names or draw(st.integers(0, 3)) == 0:
        # A field the address does not expect (for addresses without a form: any name we know).
        name = draw(st.sampled_from([*extra_names, "page", "\x00", "a" * 2_001]) | TEXT)
        pairs.append((name, draw(VALUES)))
    return pairs


FUZZED_PARAMETERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "9" * 30, str(2**63)]),
    TEXT.map(lambda text: quote(encode(text), safe="")),
)


# --- the test -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_no_input_to_a_web_page_gets_a_server_error(client, world, forms, route):
    role = role_for(route)
    user = world["users"][role] if role else None
    names = [match["name"] for match in PARAMETER.finditer(route)]
    # The methods its forms use; an address no form sends to gets both, with any fields we know.
    methods = {method: fields for (target, method), fields in forms.items() if target == route}
    methods = methods or {"GET": Fields(), "POST": Fields()}
    field_count = sum(len(fields.names) for fields in methods.values())
    every_name = sorted({name for fields in forms.values() for name in fields.names})
    signed_in = ["(not yet)"]

    def session_cookie():
        cookie = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
        return cookie.value if cookie else None

    @settings(
        max_examples=min(EXAMPLES_MAX, EXAMPLES_MIN + EXAMPLES_PER_FIELD * field_count),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def fuzz(data):
        method = data.draw(st.sampled_from(sorted(methods)), label="method")
        fields = methods[method]
        fuzzed = {name: data.draw(FUZZED_PARAMETERS, label=name) for name in names if data.draw(st.booleans())}
        url = concrete(route, world["values"], fuzzed)
        pairs = data.draw(submissions(fields, every_name), label="fields")
        headers = {"HTTP_HX_REQUEST": "true"} if data.draw(st.booleans()) else {}
        note(f"{method} {url}")
        if user is not None and session_cookie() != signed_in[0]:
            client.force_login(user)  # again: the last example signed out (or changed the session)
            signed_in[0] = session_cookie()
        with transaction.atomic():
            if method == "GET":
                response = client.get(f"{url}?{urlencoded(pairs)}", **headers)
            elif fields.files and data.draw(st.booleans(), label="multipart"):
                # Multipart: the text as a browser would send it, and a file whose name is fuzzed.
                form = {name: encode(value).decode("utf-8", "replace") for name, value in pairs}
                name = data.draw(TEXT, label="file name").encode("utf-8", "replace").decode()
                name = name.replace("/", "_").replace("\\", "_") or "f"  # the client sends the base name only
                form[sorted(fields.files)[0]] = SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n\x00\x00")
                response = client.post(url, form, **headers)
            else:
                response = client.post(
                    url, urlencoded(pairs), content_type="application/x-www-form-urlencoded", **headers
                )
            transaction.set_rollback(True)
        assert response.status_code < 500, response.content[:500]

    fuzz()


def test_the_forms_were_found(client, world, forms):
    # The fuzzing is only as good as the discovery: the main forms must be among what it found.
    assert {"subject", "body", "category", "attachments"} <= set(forms["panel/tickets/new/", "POST"].names) | set(
        forms["panel/tickets/new/", "POST"].files
    )
    assert "customer" in forms["desk/tickets/new/", "POST"].names
    assert {"q", "status", "line", "urgency"} <= set(forms["desk/tickets/", "GET"].names)
    assert {"kind", "idempotency_key"} <= set(forms["panel/tickets/<int:number>/boost/", "POST"].names)
    assert {"line", "reason"} <= set(forms["desk/tickets/<int:number>/transfer/", "POST"].names)
    assert {"username", "password"} <= set(forms["accounts/login/", "POST"].names)
    assert {"email", "message"} <= set(forms["help/contact/", "POST"].names)
