"""The chat API: thin views over chat.selectors and chat.services.

Signed-in users authenticate as everywhere in the API; an anonymous visitor sends the signed
token of their chat in the `X-Chat-Token` header. Who may do what is decided by the services.
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from chat import selectors, services
from chat.api import serializers as s
from chat.models import ChatStatus
from chat.policy import Participant, read_visitor_token
from helpdesk.errors import NotFound

TAG = "chat"
TOKEN_HEADER = OpenApiParameter(
    "X-Chat-Token", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False, description="A visitor's chat token."
)


def participant(request) -> Participant:
    token = request.headers.get("X-Chat-Token")
    if token:
        who = read_visitor_token(token)
        if who is None:
            raise NotFound(_("This chat link is not valid; start a new chat."), code="bad_token")
        return who
    user = request.user if request.user.is_authenticated else None
    return Participant(user=user)


class StartThrottle(AnonRateThrottle):
    """Anonymous visitors start at most this many chats an hour from one address."""

    scope = "chat_start"
    rate = "20/hour"


class VisitorAllowed(APIView):
    """Views a visitor reaches with a token: authenticated per request by `participant`."""

    permission_classes = [AllowAny]

    def chat_state(self, chat_id: int) -> dict:
        chat = selectors.chat_get(who=participant(self.request), chat_id=chat_id)
        return s.ChatSerializer(selectors.chat_state(chat)).data


class ChatListView(GenericAPIView):
    """The caller's chats: customers their own, agents their lines' and their own, management all."""

    serializer_class = s.ChatSerializer

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    def get_throttles(self):
        return [StartThrottle()] if self.request.method == "POST" else super().get_throttles()

    @extend_schema(
        tags=[TAG],
        operation_id="chats_list",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=ChatStatus.values, required=False)],
        responses={200: s.ChatSerializer(many=True)},
    )
    def get(self, request):
        wanted = request.query_params.get("status") or None
        chats = selectors.chat_list(user=request.user, status=wanted if wanted in ChatStatus.values else None)
        page = self.paginate_queryset(chats)
        return self.get_paginated_response(
            s.ChatSerializer([selectors.chat_state(chat) for chat in page], many=True).data
        )

    @extend_schema(
        tags=[TAG],
        operation_id="chats_start",
        summary="Start a chat (a signed-in customer, or a visitor with a name and an e-mail address)",
        request=s.ChatStartSerializer,
        responses={201: s.ChatStartedSerializer},
    )
    def post(self, request):
        data = s.ChatStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user if request.user.is_authenticated else None
        started = services.chat_start(user=user, **data.validated_data)
        body = s.ChatStartedSerializer({**selectors.chat_state(started.chat), "token": started.token}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ChatDetailView(VisitorAllowed):
    @extend_schema(
        tags=[TAG], operation_id="chats_retrieve", parameters=[TOKEN_HEADER], responses={200: s.ChatSerializer}
    )
    def get(self, request, chat_id):
        return Response(self.chat_state(chat_id))


class ChatMessagesView(VisitorAllowed):
    @extend_schema(
        tags=[TAG],
        operation_id="chats_messages",
        summary="The chat's messages numbered above `after` (what a page missed), in order",
        parameters=[
            TOKEN_HEADER,
            OpenApiParameter("after", OpenApiTypes.INT, required=False, description="The last number seen."),
        ],
        responses={200: s.ChatMessageSerializer(many=True)},
    )
    def get(self, request, chat_id):
        raw = request.query_params.get("after") or "0"
        after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
        chat = selectors.chat_get(who=participant(request), chat_id=chat_id)
        return Response([selectors.message_dict(m, chat) for m in selectors.messages_after(chat=chat, seq=after)])

    @extend_schema(
        tags=[TAG],
        operation_id="chats_messages_create",
        summary="Write in the chat (a resend with the same client_id is not stored twice)",
        parameters=[TOKEN_HEADER],
        request=s.ChatPostSerializer,
        responses={201: s.PostedSerializer, 200: s.PostedSerializer},
    )
    def post(self, request, chat_id):
        data = s.ChatPostSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        posted = services.chat_post(chat_id=chat_id, who=participant(request), **data.validated_data)
        chat = selectors.chat_get(who=participant(request), chat_id=chat_id)
        body = {"duplicate": posted.duplicate, "message": selectors.message_dict(posted.message, chat)}
        return Response(body, status=status.HTTP_200_OK if posted.duplicate else status.HTTP_201_CREATED)


def _action(operation_id: str, summary: str, request=None):
    return extend_schema(
        tags=[TAG],
        operation_id=operation_id,
        summary=summary,
        parameters=[TOKEN_HEADER],
        request=request,
        responses={200: s.ChatSerializer},
    )


class ChatHandoffView(VisitorAllowed):
    @_action("chats_handoff", "Talk to a person: join the queue of the line that handles chats")
    def post(self, request, chat_id):
        services.chat_handoff(chat_id=chat_id, who=participant(request))
        return Response(self.chat_state(chat_id))


class ChatAcceptView(VisitorAllowed):
    @_action("chats_accept", "Accept a waiting chat (agents of its line)")
    def post(self, request, chat_id):
        services.chat_accept(chat_id=chat_id, who=participant(request))
        return Response(self.chat_state(chat_id))


class ChatTransferView(VisitorAllowed):
    @_action("chats_transfer", "Hand the chat to another agent of its line, or to another line", s.TransferSerializer)
    def post(self, request, chat_id):
        data = s.TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.chat_transfer(
            chat_id=chat_id,
            who=participant(request),
            to_agent_id=data.validated_data["agent"],
            to_line_id=data.validated_data["line"],
        )
        return Response(self.chat_state(chat_id))


class ChatConvertView(VisitorAllowed):
    @_action("chats_convert", "Convert the chat to a ticket (its transcript becomes the first messages)",
             s.ConvertSerializer)  # fmt: skip
    def post(self, request, chat_id):
        data = s.ConvertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.chat_convert(chat_id=chat_id, who=participant(request), **data.validated_data)
        return Response(self.chat_state(chat_id))


class ChatCloseView(VisitorAllowed):
    @_action("chats_close", "Close the chat")
    def post(self, request, chat_id):
        services.chat_close(chat_id=chat_id, who=participant(request))
        return Response(self.chat_state(chat_id))


class ChatRateView(VisitorAllowed):
    @_action("chats_rate", "Rate the chat: like or dislike, with an optional comment (the customer)", s.RateSerializer)
    def post(self, request, chat_id):
        data = s.RateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.chat_rate(chat_id=chat_id, who=participant(request), **data.validated_data)
        return Response(self.chat_state(chat_id))
