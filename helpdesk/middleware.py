"""The one check of the text a request brings, before any view sees it.

PostgreSQL cannot store a NUL character in text, and psycopg2 refuses to send one (or a lone
surrogate, which has no UTF-8 form) even in a WHERE clause: such text reaching a query is a
500. Views should not each remember that, so `RequestInputMiddleware` refuses, with a 400,
any request whose path, query string (names and values), cookies or form fields (names,
values, and the names of uploaded files; never their contents) contain such a character or
are longer than any field of the helpdesk takes. JSON bodies are read only by the API:
its parsers (`helpdesk.parsers`) apply the same rules to every key and string, and refuse
nesting deeper than `JSON_DEPTH_MAX`.

The limits are generous on purpose: the forms and serializers keep their own, tighter,
`max_length`s and say which field is too long; these only catch what no field limits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from django.http import HttpResponseBadRequest
from django.utils.html import escape
from django.utils.translation import gettext as _

from helpdesk.api import api_error_response, is_api_request

logger = logging.getLogger(__name__)

# The path, a query parameter's, form field's or cookie's name, a query value: 2,000
# characters is as much as browsers and proxies reliably carry in a URL.
URL_TEXT_MAX = 2_000
# A form field's value, a cookie's, or a string in a JSON body: twice the longest field (a
# message, 50,000).
FIELD_TEXT_MAX = 100_000
# Nesting of a JSON body; the API's deepest input is three levels.
JSON_DEPTH_MAX = 64

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


class BadInput(Exception):
    """Text from a request that nothing may store or look up (400)."""

    status_code = 400

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def check_text(value: str, *, limit: int, field: str | None = None) -> None:
    """Raise BadInput when `value` is longer than `limit` or holds a NUL or a lone surrogate."""
    if len(value) > limit:
        raise BadInput(
            "too_long",
            _("A value in the request is longer than %(limit)s characters.") % {"limit": limit},
            field=field,
        )
    found = _UNSTORABLE.search(value)
    if found is None:
        return
    if found.group() == "\x00":
        raise BadInput("null_character", _("Text in the request may not contain NUL characters."), field=field)
    raise BadInput("invalid_character", _("Text in the request is not valid Unicode."), field=field)


def check_charset(encoding: str | None) -> None:
    """Refuse a charset that is no text encoding (bz2_codec, say), which Django's multipart
    parser would otherwise die on; Django itself drops the names it does not know."""
    try:
        "".encode(encoding or "utf-8")
    except LookupError as exc:
        raise BadInput("unsupported_charset", _("The character set of the request is not a text encoding.")) from exc


def check_fields(fields: Iterable[tuple[str, list]], *, value_limit: int) -> None:
    """Check the names and values of a QueryDict's `lists()` (files' values are skipped)."""
    for name, values in fields:
        check_text(name, limit=URL_TEXT_MAX)
        for value in values:
            if isinstance(value, str):
                check_text(value, limit=value_limit, field=name)


def check_json(data) -> None:
    """Check every key and string of parsed JSON (iteratively: depth is limited elsewhere)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            check_text(item, limit=FIELD_TEXT_MAX)
        elif isinstance(item, dict):
            for key, value in item.items():
                check_text(key, limit=URL_TEXT_MAX)
                pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)


_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]++")


def json_too_deep(text: str, *, limit: int = JSON_DEPTH_MAX) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`, without parsing it.

    Python's json module recurses once per level and dies with a RecursionError near a
    thousand; this looks only at the brackets outside strings.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    if len(brackets) <= limit:
        return False
    depth = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def check_request(request) -> None:
    """Raise BadInput for the first unstorable or over-long text of the request."""
    check_text(request.path_info, limit=URL_TEXT_MAX)
    check_fields(request.GET.lists(), value_limit=URL_TEXT_MAX)
    # Cookies may be long (other applications of the domain set theirs), never unstorable.
    check_fields(((name, [value]) for name, value in request.COOKIES.items()), value_limit=FIELD_TEXT_MAX)
    # Django parses form bodies of POST only; the API's parsers check the other methods' bodies.
    # Parsing here is no extra work: the view (or CSRF) would parse the same body right after,
    # and uploads go to disk past FILE_UPLOAD_MAX_MEMORY_SIZE as they would there.
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        check_charset(request.encoding)
        check_fields(request.POST.lists(), value_limit=FIELD_TEXT_MAX)
        for name, files in request.FILES.lists():
            check_text(name, limit=URL_TEXT_MAX)
            for upload in files:
                check_text(upload.name or "", limit=URL_TEXT_MAX, field=name)


def refusal(request, problem: BadInput):
    """400 in the API's error shape under /api/, a plain 400 page elsewhere."""
    if is_api_request(request):
        return api_error_response(request, problem.status_code, problem.code, problem.message, field=problem.field)
    return HttpResponseBadRequest(f"<h1>{escape(_('Bad request'))}</h1><p>{escape(problem.message)}</p>")


class RequestInputMiddleware:
    """Refuse requests whose text could not be stored or looked up (see the module's doc)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except BadInput as problem:
            # The path may be what is wrong: log it as repr, cut short.
            logger.info("Refused %s %.200r: %s", request.method, request.path_info, problem.code)
            return refusal(request, problem)
        return self.get_response(request)
