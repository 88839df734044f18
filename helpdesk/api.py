"""The one error shape of every API answer.

Every error the API gives, whatever raised it, is JSON of one shape (the `Error` component of
the schema, `ErrorSerializer` here):

    {"error": <machine code>, "detail": <message for people>, "field": <optional>, "errors": <optional>}

`field` names the input field the error is about; `errors` comes with invalid input and holds
every message by field (`non_field_errors` for those about the input as a whole). DRF views
get the shape from `exception_handler`; the answers Django gives itself on /api/ paths (an
unknown address, a server error) come from the `api_*` views below, which the project's error
handlers call for those paths.
"""

import errno
import logging

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, get_urlconf, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.settings import api_settings

from helpdesk.errors import DomainError

API_PREFIX = "/api/"
# What a 503 tells the client to wait before sending the request again.
RETRY_AFTER_SECONDS = 5
# The disk is full: an upload cannot be stored now, and may be later.
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
logger = logging.getLogger(__name__)
UNAVAILABLE_DETAIL = gettext_lazy("The service is unavailable for a moment; nothing was changed. Try again shortly.")


def is_transient_failure(exc: BaseException | None) -> bool:
    """Whether an exception is the database or the disk failing for a moment, not a bug: the
    connection lost (a restart, `pg_terminate_backend`, a network cut), a deadlock, a statement
    cancelled, a full disk. The request changed nothing (its transaction rolled back) and may be
    sent again, so the answer is 503 with Retry-After, not a 500."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, OSError) and exc.errno in STORAGE_FULL_ERRNOS


class ErrorSerializer(serializers.Serializer):
    """The shape of every error answer."""

    error = serializers.CharField(help_text=gettext_lazy("Machine-readable code, e.g. `illegal_transition`."))
    detail = serializers.CharField(help_text=gettext_lazy("Message for people, in the caller's language."))
    field = serializers.CharField(required=False, help_text=gettext_lazy("The input field the error is about, if any."))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=gettext_lazy("Invalid input: every message, by field."),
    )


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def error_body(code: str, detail: str, *, field: str | None = None, errors: dict | None = None) -> dict:
    body = {"error": code, "detail": str(detail)}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return body


def api_error_response(request, status: int, code: str, detail: str, *, field: str | None = None) -> JsonResponse:
    """An error in the API's shape, for answers given outside DRF's views."""
    return JsonResponse(error_body(code, detail, field=field), status=status, json_dumps_params={"ensure_ascii": False})


# --- DRF views ----------------------------------------------------------------------------


def _messages(detail) -> list:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list | tuple):
        return [message for value in detail for message in _messages(value)]
    return [detail]


def invalid_input_body(detail) -> dict:
    """DRF's errors of invalid input (a dict by field, or a list) in the one shape.

    `detail` and `error` are the first message and its code, `field` the (top-level) field it
    belongs to, `errors` every message by field.
    """
    field = None
    errors = None
    if isinstance(detail, dict):
        errors = {str(name): [str(m) for m in _messages(value)] for name, value in detail.items()}
        field = next((str(name) for name, value in detail.items() if _messages(value)), None)
        if field in (api_settings.NON_FIELD_ERRORS_KEY, "__all__"):
            field = None
    messages = _messages(detail)
    first = messages[0] if messages else exceptions.ErrorDetail(_("Invalid input."), code="invalid")
    return error_body(getattr(first, "code", None) or "invalid", first, field=field, errors=errors)


def _refusal(exc) -> tuple[int, str, str]:
    """Status, code and message for a request Django refused to read (a SuspiciousOperation)."""
    if isinstance(exc, RequestDataTooBig):
        return 413, "too_large", _("The request body is too large.")
    if isinstance(exc, TooManyFieldsSent):
        return 400, "too_many_fields", _("The request has too many fields.")
    if isinstance(exc, TooManyFilesSent):
        return 400, "too_many_files", _("The request has too many files.")
    return 400, "bad_request", _("The request is malformed.")


def _suspicious_request(exc: SuspiciousOperation, context) -> Response:
    # Django logs these under django.security.<name> when it answers them itself; so do we.
    request = context.get("request")
    status, code, detail = _refusal(exc)
    logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(
        "%s", exc, extra={"status_code": status, "request": getattr(request, "_request", request)}
    )
    return Response(error_body(code, detail), status=status)


def exception_handler(exc, context):
    """Turn domain errors, Django's and DRF's exceptions into the API's one error shape."""
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status_code == 503 else None
        return Response(error_body(exc.code, exc.message, field=exc.field), status=exc.status_code, headers=headers)
    if is_transient_failure(exc):
        logger.warning("%s: answered 503: %s", type(exc).__name__, exc)
        body = error_body("unavailable", UNAVAILABLE_DETAIL)
        return Response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, DjangoValidationError):
        detail = get_error_detail(exc)
        return Response(invalid_input_body(detail), status=400)
    if isinstance(exc, SuspiciousOperation):
        return _suspicious_request(exc, context)
    # Imported here: rest_framework.views builds APIView from the settings at import, and the
    # parsers named there import helpdesk.middleware, which imports this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"} and not isinstance(data["detail"], dict | list):
        detail = data["detail"]
        response.data = error_body(str(getattr(detail, "code", None) or "error"), detail)
    else:
        response.data = invalid_input_body(data)
    return response


# --- Django's own answers on /api/ paths --------------------------------------------------


def _is_api_view(path: str) -> bool:
    try:
        match = resolve(path, get_urlconf())
    except Resolver404:
        return False
    return match.func is not api_not_found


@csrf_exempt  # it changes nothing; without this a POST or DELETE got the HTML CSRF page
def api_not_found(request, exception=None):
    """No such address under /api/: a JSON 404 (the route after every other /api/ route)."""
    path = request.path_info
    if not path.endswith("/") and _is_api_view(path + "/"):
        # What CommonMiddleware's APPEND_SLASH did before this route caught every /api/ path;
        # a redirect would lose the body of any other method, so they are told instead.
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        detail = _("No such address in the API; did you mean %(path)s?") % {"path": path + "/"}
    else:
        detail = _("No such address in the API.")
    return api_error_response(request, 404, "not_found", detail)


def api_bad_request(request, exception=None):
    """handler400 for /api/ paths: a body too large or with too many fields, a bad Host header."""
    status, code, detail = _refusal(exception)
    return api_error_response(request, status, code, detail)


def api_permission_denied(request, exception=None):
    """handler403 for /api/ paths (DRF's own views answer 403 through exception_handler)."""
    return api_error_response(request, 403, "permission_denied", _("You do not have permission to do this."))


def unavailable_response() -> JsonResponse:
    response = JsonResponse(
        error_body("unavailable", UNAVAILABLE_DETAIL),
        status=503,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def api_server_error(request):
    """handler500 for /api/ paths: Django has logged the exception already."""
    return api_error_response(request, 500, "server_error", _("Something went wrong on our side; it has been logged."))
