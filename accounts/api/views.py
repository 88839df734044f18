from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.api.serializers import LanguageSerializer, MeSerializer, TokenRequestSerializer, TokenSerializer
from accounts.services import user_issue_api_token, user_set_language
from helpdesk.errors import DomainError


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


class TokenView(APIView):
    """Exchange a username and password for an API token (integrations use `Authorization: Token …`)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise DomainError(_("Wrong username or password."), code="invalid_credentials")
        return Response({"token": user_issue_api_token(user=user)}, status=status.HTTP_200_OK)
