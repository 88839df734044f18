"""GET/PUT /api/v1/me/notifications/: the signed-in agent's e-mail preferences."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSupportStaff
from notifications import services


class PreferenceSerializer(serializers.Serializer):
    on_new_in_line = serializers.BooleanField(help_text="A new ticket arrives in one of my lines.")
    on_transfer_to_my_line = serializers.BooleanField(help_text="A ticket is transferred to one of my lines.")
    on_transfer_to_me = serializers.BooleanField(help_text="Someone else hands a ticket to me.")


class MyNotificationsView(APIView):
    """Which e-mails the signed-in agent gets. Customers always get theirs and have no settings."""

    permission_classes = [IsSupportStaff]

    @extend_schema(responses=PreferenceSerializer)
    def get(self, request):
        return Response(PreferenceSerializer(services.preference_for(request.user)).data)

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer)
    def put(self, request):
        serializer = PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preference = services.preference_update(user=request.user, **serializer.validated_data)
        return Response(PreferenceSerializer(preference).data)


urlpatterns = [
    path("me/notifications/", MyNotificationsView.as_view(), name="me-notifications"),
]
