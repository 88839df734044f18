"""The root of version 1 of the API: its entry points."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


class ApiRoot(APIView):
    """Entry points of version 1 of the API."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(operation_id="api_root", responses={200: dict})
    def get(self, request, format=None):  # DRF's signature
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
