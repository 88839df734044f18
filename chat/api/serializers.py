"""What the chat API reads and answers."""

from rest_framework import serializers

from chat.models import ChatStatus, Rating
from tickets.models import Category


class ChatMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    chat = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="The message's number in its chat: 1, 2, 3, ...")
    client_id = serializers.CharField(help_text="The sending page's own id of the message ('' if none).")
    author_kind = serializers.ChoiceField(choices=["customer", "agent", "bot", "system"])
    author_name = serializers.CharField()
    body = serializers.CharField()
    data = serializers.DictField(help_text="The bot's articles and incidents.")
    created_at = serializers.DateTimeField()


class ChatSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="chat")
    status = serializers.ChoiceField(choices=ChatStatus.choices)
    status_label = serializers.CharField()
    position = serializers.IntegerField(allow_null=True, help_text="Place in the queue while it waits (1: next).")
    offline = serializers.BooleanField(help_text="Asked for a person outside the line's working hours.")
    line = serializers.IntegerField(allow_null=True)
    agent = serializers.IntegerField(allow_null=True)
    agent_name = serializers.CharField()
    ticket = serializers.IntegerField(allow_null=True, help_text="The number of the ticket the chat became.")
    last_seq = serializers.IntegerField()
    customer_read_seq = serializers.IntegerField()
    agent_read_seq = serializers.IntegerField()
    rating = serializers.CharField()
    customer_name = serializers.CharField()


class ChatStartSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=["en", "ru"], default="en")


class ChatStartedSerializer(ChatSerializer):
    token = serializers.CharField(
        help_text="A visitor's signed token for this chat (send it as X-Chat-Token, or with `join` on the socket); "
        "empty for a signed-in customer."
    )


class ChatPostSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=50_000, trim_whitespace=False)
    client_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class PostedSerializer(serializers.Serializer):
    duplicate = serializers.BooleanField(help_text="The client id was stored before; nothing new was written.")
    message = ChatMessageSerializer()


class TransferSerializer(serializers.Serializer):
    agent = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=2**31 - 1)
    line = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=2**31 - 1)


class ConvertSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=Category.choices, default=Category.GENERAL)


class ConvertedSerializer(ChatSerializer):
    pass


class RateSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
