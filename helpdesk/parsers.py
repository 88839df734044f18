"""The API's parsers: DRF's, with the request-text rules of `helpdesk.middleware` applied to
what they parse (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

The middleware sees the query string and POSTed forms; JSON bodies, and forms sent with
PUT or PATCH, are parsed only here. Whatever is refused becomes a ParseError, which the
API's exception handler answers with a 400 in its error shape.
"""

from __future__ import annotations

import codecs

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from helpdesk.middleware import FIELD_TEXT_MAX, JSON_DEPTH_MAX, BadInput, check_fields, check_json, json_too_deep


def _refuse(problem: BadInput) -> ParseError:
    return ParseError(problem.message, code=problem.code)


class JSONParser(parsers.JSONParser):
    """JSON with at most JSON_DEPTH_MAX levels, and no NUL, lone surrogate or over-long string."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_too_deep(text):
            raise ParseError(
                _("The JSON body is nested deeper than %(limit)s levels.") % {"limit": JSON_DEPTH_MAX},
                code="too_deep",
            )
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        try:
            check_json(data)
        except BadInput as problem:
            raise _refuse(problem) from problem
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            check_fields(data.lists(), value_limit=FIELD_TEXT_MAX)
        except BadInput as problem:
            raise _refuse(problem) from problem
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        try:
            check_fields(parsed.data.lists(), value_limit=FIELD_TEXT_MAX)
            check_fields(
                ((name, [upload.name or "" for upload in files]) for name, files in parsed.files.lists()),
                value_limit=FIELD_TEXT_MAX,
            )
        except BadInput as problem:
            raise _refuse(problem) from problem
        return parsed
