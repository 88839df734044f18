from rest_framework import serializers

from accounts.models import User


class MeSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    organisation = serializers.StringRelatedField()

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
            "organisation",
        ]
        read_only_fields = fields


class LanguageSerializer(serializers.Serializer):
    language = serializers.CharField(max_length=8)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
