"""Inbound e-mail over HTTP: the endpoint an MTA or a mail provider's webhook posts raw
messages to, and what agents need to link unmatched senders."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.permissions import IsSupportStaff
from helpdesk.errors import DomainError, NotFound
from mailin import services
from mailin.api.auth import HasInboundToken, InboundTokenAuthentication
from mailin.api.parsers import OctetStreamParser, RawMessageParser
from mailin.api.serializers import InboundListQuerySerializer, InboundOutcomeSerializer, LinkSenderSerializer
from mailin.models import InboundMessage, Source
from tickets.api.serializers import ApiErrorSerializer
from tickets.selectors import tickets_visible_to

TAG = "inbound e-mail"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ApiErrorSerializer, description=description)


class InboundEmailView(APIView):
    """Receive one raw e-mail (RFC 822) from an MTA or a mail provider's webhook."""

    authentication_classes = [InboundTokenAuthentication]
    permission_classes = [HasInboundToken]
    parser_classes = [RawMessageParser, OctetStreamParser]

    @extend_schema(
        tags=[TAG],
        operation_id="inbound_email_receive",
        summary="Receive a raw e-mail",
        description=(
            "The body is the message exactly as received (`message/rfc822` or `application/octet-stream`). "
            "Authenticate with `Authorization: Bearer <token>` (setting `HELPDESK_INBOUND_TOKEN`). "
            "Every message is stored before it is processed and answered with 202 and its outcome: "
            "`ticket_created`, `unmatched_ticket_created` (sender without an account), `threaded` (added to "
            "its ticket), `ignored_auto_reply`, `ignored_bounce`, `ignored_loop`, `duplicate`, or, kept but "
            "not filed, `rejected_too_large`, `failed_parse` and `failed`. Do not retry after a 202; retry on "
            "5xx."
        ),
        parameters=[
            OpenApiParameter(
                "mailbox",
                OpenApiTypes.STR,
                description="The address it was delivered to, when the headers do not say (the envelope recipient).",
            )
        ],
        request={
            "message/rfc822": OpenApiTypes.BINARY,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={
            202: InboundOutcomeSerializer,
            400: _error("An empty body or an unknown mailbox."),
            403: _error("The token is missing or wrong."),
            415: _error("The body is not sent as message/rfc822 or application/octet-stream."),
            503: _error("Inbound e-mail is not configured (no token set)."),
        },
    )
    def post(self, request):
        mailbox = None
        address = (request.query_params.get("mailbox") or "").strip()
        if address:
            mailbox = services.mailbox_for([address])
            if mailbox is None:
                raise DomainError(_("No mailbox has the address %(address)s.") % {"address": address}, field="mailbox")
        body = request.data
        if not hasattr(body, "read"):
            raise DomainError(_("The body must be the raw e-mail."), code="empty", field="body")
        with body:
            body.seek(0, 2)
            if body.tell() == 0:
                raise DomainError(_("The body must be the raw e-mail."), code="empty", field="body")
            body.seek(0)
            inbound = services.receive(body, origin=Source.ENDPOINT, mailbox=mailbox)
        return Response(InboundOutcomeSerializer(inbound).data, status=status.HTTP_202_ACCEPTED)


class InboundPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class InboundMessageListView(GenericAPIView):
    """Received e-mails of tickets the caller may see; management also sees those not filed."""

    permission_classes = [IsSupportStaff]
    pagination_class = InboundPagination
    serializer_class = InboundOutcomeSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="inbound_messages_list",
        parameters=[InboundListQuerySerializer],
        responses={200: InboundOutcomeSerializer(many=True)},
    )
    def get(self, request):
        user = request.user
        messages = InboundMessage.objects.select_related("ticket").order_by("-received_at", "-id")
        visible = Q(ticket__in=tickets_visible_to(user))
        if not user.is_management:
            messages = messages.filter(visible)
        query = InboundListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data.get("outcome"):
            messages = messages.filter(outcome=query.validated_data["outcome"])
        if query.validated_data["unmatched"]:
            messages = messages.filter(ticket__isnull=False, sender_matched=False, linked_customer__isnull=True)
        if query.validated_data.get("ticket") is not None:
            messages = messages.filter(ticket__number=query.validated_data["ticket"])
        page = self.paginate_queryset(messages)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class InboundLinkView(APIView):
    """Link an unmatched sender to the customer's account: the ticket moves to that customer."""

    permission_classes = [IsSupportStaff]

    @extend_schema(
        tags=[TAG],
        operation_id="inbound_messages_link",
        request=LinkSenderSerializer,
        responses={
            200: InboundOutcomeSerializer,
            400: _error("No such customer."),
            403: _error("Not staff of the ticket's line."),
            404: _error("No such message."),
            409: _error("The sender is already matched, or the e-mail has no ticket."),
        },
    )
    def post(self, request, pk: int):
        serializer = LinkSenderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        inbound = InboundMessage.objects.filter(pk=pk).first()
        if inbound is None:
            raise NotFound(_("No such e-mail."))
        wanted = serializer.validated_data["customer"].strip()
        customer = User.objects.filter(
            Q(username=wanted) | Q(email__iexact=wanted), role=Role.CUSTOMER, is_active=True
        ).first()
        if customer is None:
            raise DomainError(
                _("No active customer “%(name)s”.") % {"name": wanted}, code="not_found", field="customer"
            )
        inbound = services.link_sender(inbound_message=inbound, customer=customer, actor=request.user)
        return Response(InboundOutcomeSerializer(inbound).data)
