from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import ApiToken, User


class MeSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    organisation = serializers.StringRelatedField(allow_null=True, help_text=_("Name of the organisation, or null."))

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "display_name",
            "role",
            "language",
            "time_zone",
            "organisation",
        ]
        read_only_fields = fields


class LanguageSerializer(serializers.Serializer):
    language = serializers.CharField(max_length=8)


class TimeZoneSerializer(serializers.Serializer):
    time_zone = serializers.CharField(max_length=64, help_text=_("An IANA zone name, e.g. Asia/Tokyo."))


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text=_("What the token is for (e.g. the script that uses it); “API” when left out."),
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text=_("The key; shown only in this answer."))
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)


class ApiTokenSerializer(serializers.ModelSerializer):
    """One of the user's tokens as lists show it: never the key, only how it starts."""

    expired = serializers.SerializerMethodField(help_text=_("True once the token no longer works."))
    current = serializers.SerializerMethodField(help_text=_("True for the token this request was made with."))

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "expired", "current"]
        read_only_fields = fields

    def get_expired(self, token) -> bool:
        return token.expires_at <= self.context["now"]

    def get_current(self, token) -> bool:
        return getattr(self.context.get("auth"), "pk", None) == token.pk and isinstance(
            self.context.get("auth"), ApiToken
        )
