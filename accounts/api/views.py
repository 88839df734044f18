from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import (
    ApiTokenSerializer,
    LanguageSerializer,
    MeSerializer,
    TimeZoneSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from accounts.lockout import lockout_message
from accounts.selectors import api_tokens_of
from accounts.services import api_token_issue, api_token_revoke, user_set_language, user_set_time_zone
from helpdesk.errors import DomainError, TooManyRequests
from helpdesk.throttling import ClientScopedRateThrottle


class MeView(APIView):
    """The signed-in user: who they are and which role they have."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class LanguageView(APIView):
    """Set the language of the interface and of e-mails for the signed-in user."""

    @extend_schema(request=LanguageSerializer, responses=MeSerializer)
    def post(self, request):
        serializer = LanguageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_set_language(user=request.user, language=serializer.validated_data["language"])
        return Response(MeSerializer(user).data)


class TimeZoneView(APIView):
    """Set the time zone the signed-in user reads and enters dates and times in on the pages."""

    @extend_schema(request=TimeZoneSerializer, responses=MeSerializer)
    def post(self, request):
        serializer = TimeZoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_set_time_zone(user=request.user, time_zone=serializer.validated_data["time_zone"])
        return Response(MeSerializer(user).data)


class TokenView(APIView):
    """Exchange a username and password for a new API token (integrations use `Authorization: Token …`).

    Each call makes a new token, valid for the configured number of days; give it a name to
    find it again in the list. Wrong passwords count towards the same lockout as the login
    page: a locked-out username and address get 429 with the error `locked_out`."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 429: OpenApiResponse(description=_("Locked out or throttled."))},
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # django-axes checks the lockout and counts a failure inside authenticate().
        user = authenticate(
            request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            if getattr(request, "axes_locked_out", False):
                raise TooManyRequests(lockout_message(), code="locked_out")
            raise DomainError(_("Wrong username or password."), code="invalid_credentials")
        token, key = api_token_issue(user=user, name=serializer.validated_data.get("name", ""), via="password")
        return Response(
            {"token": key, "id": token.pk, "name": token.name, "expires_at": token.expires_at},
            status=status.HTTP_200_OK,
        )


class TokenListView(APIView):
    """The signed-in user's API tokens: name, how the key starts, when made, last used and expiring."""

    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request):
        tokens = api_tokens_of(user=request.user)
        context = {"now": timezone.now(), "auth": request.auth}
        return Response(ApiTokenSerializer(tokens, many=True, context=context).data)


class TokenDetailView(APIView):
    """Revoke one of the signed-in user's API tokens (it stops working at once)."""

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        api_token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
