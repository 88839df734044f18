"""`GET /api/v1/tickets/search/`: full-text search with the matches highlighted (tickets.search).

The list (`GET /api/v1/tickets/?q=…`) searches the same way; this address adds to each
ticket what matched, as HTML: the text escaped, the matches in `<mark>`.
"""

from django.utils.html import escape
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from tickets import search
from tickets.api import serializers as s
from tickets.api.views import TAG, TicketPagination, validated
from tickets.models import Category, Status, Urgency

QUERY_HELP = _(
    "Words of the subject, the description, the messages (customers: not the internal notes), the "
    "customer's name, login or e-mail, the organisation or the service, in Russian or English, any "
    "form of a word (“сервера” finds “сервер”); numbers, IP addresses and host names as written. A "
    'ticket\'s number finds that ticket and those that mention it. `"a phrase"`, `or` and `-word` work '
    "as in web searches."
)


class TicketSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=search.TEXT_MAX, help_text=QUERY_HELP)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    line = serializers.SlugField(required=False, help_text=_("Code of a line."))
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    assignee = serializers.ChoiceField(
        choices=[("me", "me"), ("none", "none")], required=False, help_text=_("`me`: mine; `none`: unassigned.")
    )
    open = serializers.BooleanField(required=False, default=False, help_text=_("Only tickets not yet resolved."))


class SearchHighlightSerializer(serializers.Serializer):
    subject = serializers.CharField(help_text=_("The subject as HTML, the matches in <mark>."))
    snippet = serializers.CharField(
        allow_null=True,
        help_text=_("The latest message (or the description) that matches, cut around the matches; HTML."),
    )
    about = serializers.CharField(
        allow_null=True,
        help_text=_("The customer, organisation and service, when the match is there; HTML."),
    )


class TicketSearchResultSerializer(s.TicketListItemSerializer):
    highlight = serializers.SerializerMethodField(help_text=_("What matched, escaped, the matches in <mark>."))

    @extend_schema_field(SearchHighlightSerializer)
    def get_highlight(self, ticket):
        hit = getattr(ticket, "search_hit", None)
        if hit is None:
            return {"subject": str(escape(ticket.subject)), "snippet": None, "about": None}
        return {"subject": str(hit.subject), "snippet": hit.snippet, "about": hit.about}


class TicketSearchView(GenericAPIView):
    """Full-text search over the caller's tickets (customers: their own; agents: their lines')."""

    pagination_class = TicketPagination
    serializer_class = TicketSearchResultSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="tickets_search",
        summary="Search tickets",
        description="The caller's tickets that match `q`, newest activity first, with the list's filters and "
        "what matched highlighted.",
        parameters=[TicketSearchQuerySerializer],
        responses={
            200: TicketSearchResultSerializer(many=True),
            400: OpenApiResponse(s.ApiErrorSerializer, description="Invalid input (`field` names it)."),
        },
    )
    def get(self, request):
        query = validated(TicketSearchQuerySerializer, request.query_params, request)
        tickets = search.ticket_search(
            user=request.user,
            text=query["q"],
            status=query.get("status"),
            line=query.get("line"),
            assignee=query.get("assignee"),
            urgency=query.get("urgency"),
            category=query.get("category"),
            open_only=query["open"],
        ).prefetch_related("tags")
        page = self.paginate_queryset(tickets)
        page = search.highlight_page(user=request.user, text=query["q"], tickets=page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
