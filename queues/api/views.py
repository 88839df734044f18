"""The weighted queue in the API: standing, boosts, take-next, balance, the managers' overview."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsManagement, IsSupportStaff
from helpdesk.errors import NotFound, PermissionDenied
from queues import selectors as queue_selectors
from queues import services
from queues.api import serializers as s
from queues.models import BalanceEntry, Line
from tickets import selectors as ticket_selectors
from tickets import services as ticket_services
from tickets.api.serializers import ApiErrorSerializer, TicketDetailSerializer
from tickets.api.views import TicketPagination, validated

TAG = "queue"
ERROR = OpenApiResponse(ApiErrorSerializer)


class TicketStandingView(APIView):
    """Where the ticket stands in its line's queue, with the estimated wait as a range."""

    @extend_schema(tags=[TAG], responses={200: s.QueueStandingSerializer, 404: ERROR})
    def get(self, request, number):
        ticket = ticket_selectors.ticket_get(user=request.user, number=number)
        return Response(s.QueueStandingSerializer(queue_selectors.ticket_standing(ticket=ticket)).data)


class TicketBoostView(APIView):
    """Move a waiting ticket up the queue for a price. GET quotes honestly; POST buys."""

    def get_ticket(self, number):
        ticket = ticket_selectors.ticket_get(user=self.request.user, number=number)
        if not self.request.user.is_customer:
            raise PermissionDenied("Only the customer can buy a boost.")
        return ticket

    @extend_schema(
        tags=[TAG],
        parameters=[s.BoostQuoteQuerySerializer],
        responses={200: s.BoostQuoteSerializer, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def get(self, request, number):
        ticket = self.get_ticket(number)
        query = validated(s.BoostQuoteQuerySerializer, request.query_params, request)
        quote = queue_selectors.boost_quote(ticket=ticket, customer=request.user, kind=query["kind"])
        return Response(s.BoostQuoteSerializer(quote).data)

    @extend_schema(
        tags=[TAG], request=s.BoostBuySerializer, responses={201: s.BoostSerializer, 400: ERROR, 404: ERROR, 409: ERROR}
    )
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.BoostBuySerializer, request.data, request)
        boost = services.boost_buy(
            ticket=ticket, customer=request.user, kind=data["kind"], idempotency_key=data["idempotency_key"]
        )
        return Response(s.BoostSerializer(boost).data, status=status.HTTP_201_CREATED)


class TakeNextView(APIView):
    """Assign the first waiting ticket of the caller's lines to the caller (204 when none wait)."""

    permission_classes = [IsSupportStaff]

    @extend_schema(
        tags=[TAG],
        request=s.TakeNextSerializer,
        responses={200: TicketDetailSerializer, 204: None, 400: ERROR, 403: ERROR},
    )
    def post(self, request):
        data = validated(s.TakeNextSerializer, request.data, request)
        line = None
        if data.get("line"):
            line = Line.objects.filter(code=data["line"], is_active=True).first()
            if line is None:
                raise NotFound("No such line.")
        ticket = ticket_services.ticket_take_next(agent=request.user, line=line)
        if ticket is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        ticket = ticket_selectors.ticket_get(user=request.user, number=ticket.number)
        return Response(TicketDetailSerializer(ticket, context={"request": request}).data)


class QueueOverviewView(APIView):
    """Per line: waiting tickets, the oldest wait, the customer mix, boosts today, the bound."""

    permission_classes = [IsManagement]

    @extend_schema(tags=[TAG], responses={200: s.QueueLineSerializer(many=True), 403: ERROR})
    def get(self, request):
        return Response(s.QueueLineSerializer(queue_selectors.queue_overview(), many=True).data)


class BalanceView(GenericAPIView):
    """The customer's balance and its ledger, newest first."""

    pagination_class = TicketPagination
    serializer_class = s.BalanceEntrySerializer

    @extend_schema(tags=[TAG], responses={200: s.BalanceEntrySerializer(many=True), 403: ERROR})
    def get(self, request):
        if not request.user.is_customer:
            raise PermissionDenied("Only customers have a balance.")
        entries = BalanceEntry.objects.filter(customer=request.user).order_by("-created_at", "-id")
        page = self.paginate_queryset(entries)
        response = self.get_paginated_response(s.BalanceEntrySerializer(page, many=True).data)
        response.data["balance"] = str(queue_selectors.balance_of(request.user))
        return response
