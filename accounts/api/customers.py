"""The customer at a glance, through the API: look a customer up by name, login, e-mail or
organisation (filing a ticket on their behalf), and read a customer's card. Support staff only;
the card follows the rule of the workspace's customer page (accounts.selectors.customer_visible_to)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors
from accounts.permissions import IsSupportStaff


class CustomerHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    email = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name", default=None, allow_null=True)


class CardTicketSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    subject = serializers.CharField()
    status = serializers.CharField()
    line = serializers.CharField(source="line.code")
    last_activity_at = serializers.DateTimeField()


class VerdictSerializer(serializers.Serializer):
    ticket_number = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=["confirmed", "reopened", "not_confirmed"])
    label = serializers.CharField()
    at = serializers.DateTimeField()


class PlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    tasks_per_month = serializers.IntegerField(allow_null=True)


class CustomerCardSerializer(serializers.Serializer):
    customer = CustomerHitSerializer()
    support_plan = PlanSerializer(source="profile.support_plan", default=None, allow_null=True)
    admin_package = PlanSerializer(source="profile.admin_package", default=None, allow_null=True)
    package_tasks_used = serializers.IntegerField(allow_null=True)
    package_tasks_left = serializers.IntegerField(allow_null=True)
    customer_since = serializers.DateField(source="profile.customer_since", default=None, allow_null=True)
    tenure_days = serializers.IntegerField(allow_null=True)
    spend_band = serializers.ChoiceField(choices=["none", "small", "medium", "large", "top"])
    currency = serializers.CharField()
    flags = serializers.ListField(child=serializers.CharField())
    open_count = serializers.IntegerField()
    total_count = serializers.IntegerField()
    open_tickets = CardTicketSerializer(many=True)
    recent_tickets = CardTicketSerializer(many=True)
    verdicts = VerdictSerializer(many=True)


class CustomerLookupView(APIView):
    """Customers whose login, name, e-mail address or organisation contains `q` (two characters
    at least; several words must all match), at most ten, exact logins and addresses first."""

    permission_classes = [IsSupportStaff]

    @extend_schema(
        parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="What to look for.", required=True)],
        responses=CustomerHitSerializer(many=True),
    )
    def get(self, request):
        query = str(request.query_params.get("q", ""))[:200]
        hits = selectors.customer_lookup(viewer=request.user, query=query)
        return Response(CustomerHitSerializer(hits, many=True).data)


class CustomerCardView(APIView):
    """A customer at a glance: plans, the administration tasks left this month, tenure, spend
    band, flags, their open and recent tickets and their verdicts on solutions. Management sees
    every customer, an agent those with a ticket the agent can see; 404 otherwise."""

    permission_classes = [IsSupportStaff]

    @extend_schema(responses=CustomerCardSerializer)
    def get(self, request, pk: int):
        customer = selectors.customer_visible_to(viewer=request.user, customer_id=pk)
        card = selectors.customer_card(viewer=request.user, customer=customer)
        return Response(CustomerCardSerializer(card).data)
