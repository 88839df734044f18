"""The API root and the one exception handler for every endpoint."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from helpdesk.errors import DomainError


def exception_handler(exc, context):
    """Turn domain errors (and Django's model validation) into clear JSON answers.

    Shape: {"error": <machine code>, "detail": <message for people>, "field": <optional>}.
    """
    if isinstance(exc, DomainError):
        body = {"error": exc.code, "detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "message_dict") else exc.messages
        return Response({"error": "invalid", "detail": detail}, status=400)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(response.data["detail"], "code", None) or "error"
        response.data = {"error": str(code), "detail": str(response.data["detail"])}
    return response


class ApiRoot(APIView):
    """Entry points of version 1 of the API."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(operation_id="api_root", responses={200: dict})
    def get(self, request, format=None):  # noqa: A002 - DRF's signature
        return Response(
            {
                "me": reverse("api:me", request=request, format=format),
                "tickets": reverse("api:ticket-list", request=request, format=format),
                "lines": reverse("api:line-list", request=request, format=format),
                "token": reverse("api:token", request=request, format=format),
                "schema": reverse("schema", request=request),
                "docs": reverse("api-docs", request=request),
            }
        )
