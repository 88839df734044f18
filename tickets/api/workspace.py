"""The workspace's API: saved views, tags, bulk actions, and merge, link and split.

Thin, as the rest of the tickets API: check the input's shape, call one orchestrator, service or
selector, render. The rules (who may, in which state) live in tickets.services and tickets.bulk;
the filters a view may hold in tickets.views_saved.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSupportStaff
from helpdesk.errors import NotFound
from queues.models import Line
from tickets import bulk, selectors, services, views_saved
from tickets.api.serializers import ApiErrorSerializer, TicketDetailSerializer
from tickets.models import Message, SavedView

TAG = "workspace"
ERRORS = {
    400: OpenApiResponse(ApiErrorSerializer, description="Invalid input (`field` names it)."),
    403: OpenApiResponse(ApiErrorSerializer, description="Not allowed for the caller."),
    404: OpenApiResponse(ApiErrorSerializer, description="No such object, or not visible to the caller."),
    409: OpenApiResponse(ApiErrorSerializer, description="Not possible now, e.g. `ticket_closed`."),
}


def _validated(serializer_class, data, request) -> dict:
    serializer = serializer_class(data=data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- serializers ------------------------------------------------------------------------------


class SavedViewSerializer(serializers.Serializer):
    id = serializers.CharField(
        read_only=True, help_text=_("The view's key: a number for a saved view, a word for a built-in one.")
    )
    name = serializers.CharField(read_only=True)
    filters = serializers.JSONField(
        read_only=True, help_text=_("Keys: q, status, open, line, assignee, urgency, category, tag, sla, waiting_days.")
    )
    sort = serializers.CharField(read_only=True, help_text=_("Empty: newest activity first."))
    builtin = serializers.BooleanField(read_only=True)
    line = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("Code of the line it is shared with, or null (private).")
    )
    mine = serializers.BooleanField(read_only=True, help_text=_("Whether the caller made it."))
    count = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("Matching tickets, counted up to 100; null where the answer does not count them."),
    )


def _view_data(view: views_saved.ViewEntry, user, count: int | None = None) -> dict:
    data = {
        "id": view.key,
        "name": view.name,
        "filters": view.filters,
        "sort": view.sort,
        "builtin": view.builtin,
        "line": view.shared_line.code if view.shared_line else None,
        "mine": bool(view.saved and view.saved.created_by_id == user.id),
    }
    data["count"] = count
    return data


class SavedViewWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80, allow_blank=True)
    filters = serializers.JSONField(
        required=False, default=dict, help_text=_("Checked by the service; unknown keys are refused.")
    )
    sort = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    line = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Line.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Share with this line (its code); null: only for you."),
    )


class SavedViewUpdateSerializer(SavedViewWriteSerializer):
    name = serializers.CharField(max_length=80, allow_blank=True, required=False)
    line = serializers.SlugRelatedField(slug_field="code", queryset=Line.objects.all(), required=False, allow_null=True)


class TagSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)


class TagWriteSerializer(serializers.Serializer):
    tag = serializers.CharField(max_length=40, allow_blank=True)


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(bulk.ACTIONS))
    tickets = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        max_length=bulk.BULK_MAX,
        help_text=_("Ticket numbers."),
    )
    line = serializers.SlugField(
        required=False, default="", allow_blank=True, help_text=_("transfer: the line's code.")
    )
    reason = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=1000, help_text=_("transfer, urgency.")
    )
    urgency = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=16, help_text=_("urgency.")
    )
    tag = serializers.CharField(required=False, default="", allow_blank=True, max_length=40, help_text=_("tag."))
    into = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=2**63 - 1,
        help_text=_("merge: the survivor (default: the first)."),
    )


class BulkFailureSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    error = serializers.CharField(help_text=_("Machine code, as in the error answers."))
    detail = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    done = serializers.ListField(child=serializers.IntegerField(), help_text=_("Numbers of the tickets changed."))
    failed = BulkFailureSerializer(many=True, help_text=_("The tickets left as they were, and why."))
    into = serializers.IntegerField(allow_null=True, help_text=_("merge: the survivor."))


class OtherTicketSerializer(serializers.Serializer):
    other = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text=_("The other ticket's number."))


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text=_("The survivor's number."))


class SplitSerializer(serializers.Serializer):
    message = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text=_("Id of the message of this ticket.")
    )
    subject = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)


# --- saved views --------------------------------------------------------------------------------


def _saved_view(user, pk: int) -> SavedView:
    view = views_saved.saved_views_visible_to(user).filter(pk=pk).first()
    if view is None:
        raise NotFound(_("No such view."))
    return view


class SavedViewListView(APIView):
    """The caller's views: built in, their own, and those shared with their lines."""

    permission_classes = [IsSupportStaff]

    @extend_schema(tags=[TAG], operation_id="views_list", responses={200: SavedViewSerializer(many=True)})
    def get(self, request):
        user = request.user
        answer = []
        for view in views_saved.views_for(user=user):
            tickets = views_saved.workspace_tickets(user=user, filters=views_saved.filters_clean(view.filters))
            count = tickets.order_by().values("pk")[:100].count()
            answer.append(_view_data(view, user, count))
        return Response(SavedViewSerializer(answer, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="views_create",
        request=SavedViewWriteSerializer,
        responses={201: SavedViewSerializer, **ERRORS},
    )
    def post(self, request):
        data = _validated(SavedViewWriteSerializer, request.data, request)
        saved = services.saved_view_create(actor=request.user, **data)
        entry = views_saved.view_get(user=request.user, key=str(saved.pk))
        return Response(SavedViewSerializer(_view_data(entry, request.user)).data, status=status.HTTP_201_CREATED)


class SavedViewDetailView(APIView):
    permission_classes = [IsSupportStaff]

    @extend_schema(tags=[TAG], operation_id="views_retrieve", responses={200: SavedViewSerializer, 404: ERRORS[404]})
    def get(self, request, pk: int):
        entry = views_saved.view_get(user=request.user, key=str(_saved_view(request.user, pk).pk))
        return Response(SavedViewSerializer(_view_data(entry, request.user)).data)

    @extend_schema(
        tags=[TAG],
        operation_id="views_update",
        request=SavedViewUpdateSerializer,
        responses={200: SavedViewSerializer, **ERRORS},
    )
    def patch(self, request, pk: int):
        view = _saved_view(request.user, pk)
        data = _validated(SavedViewUpdateSerializer, request.data, request)
        services.saved_view_update(view=view, actor=request.user, **data)
        entry = views_saved.view_get(user=request.user, key=str(view.pk))
        return Response(SavedViewSerializer(_view_data(entry, request.user)).data)

    @extend_schema(tags=[TAG], operation_id="views_destroy", responses={204: None, **ERRORS})
    def delete(self, request, pk: int):
        services.saved_view_delete(view=_saved_view(request.user, pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tags -------------------------------------------------------------------------------------------


class TagListView(APIView):
    """Every tag in use, by name."""

    permission_classes = [IsSupportStaff]

    @extend_schema(tags=[TAG], operation_id="tags_list", responses={200: TagSerializer(many=True)})
    def get(self, request):
        return Response(TagSerializer(views_saved.tags_in_use(), many=True).data)


class _TicketAction(APIView):
    permission_classes = [IsSupportStaff]

    def ticket(self, number: int):
        return selectors.ticket_get(user=self.request.user, number=number)

    def render(self, ticket, status_code=status.HTTP_200_OK) -> Response:
        fresh = selectors.ticket_get(user=self.request.user, number=ticket.number)
        return Response(TicketDetailSerializer(fresh, context={"request": self.request}).data, status=status_code)


def _ticket_schema(operation_id: str, summary: str, request=None, answer=200):
    return extend_schema(
        tags=[TAG],
        operation_id=operation_id,
        summary=summary,
        request=request,
        responses={answer: TicketDetailSerializer, **ERRORS},
    )


class TicketTagsView(_TicketAction):
    @_ticket_schema("tickets_tags_add", "Put a tag on the ticket (made on first use)", TagWriteSerializer)
    def post(self, request, number: int):
        ticket = self.ticket(number)
        services.ticket_tag(
            ticket=ticket, actor=request.user, name=_validated(TagWriteSerializer, request.data, request)["tag"]
        )
        return self.render(ticket)


class TicketTagDeleteView(_TicketAction):
    @_ticket_schema("tickets_tags_remove", "Take a tag off the ticket")
    def delete(self, request, number: int, name: str):
        ticket = self.ticket(number)
        services.ticket_untag(ticket=ticket, actor=request.user, name=name)
        return self.render(ticket)


# --- merge, link, split -------------------------------------------------------------------------------


class TicketMergeView(_TicketAction):
    @_ticket_schema(
        "tickets_merge",
        "Merge this ticket into another of the same customer (answers with the survivor)",
        MergeSerializer,
    )
    def post(self, request, number: int):
        ticket = self.ticket(number)
        into = self.ticket(_validated(MergeSerializer, request.data, request)["into"])
        return self.render(services.ticket_merge(ticket=ticket, into=into, actor=request.user))


class TicketLinkView(_TicketAction):
    @_ticket_schema("tickets_link", "Mark another ticket as related", OtherTicketSerializer)
    def post(self, request, number: int):
        ticket = self.ticket(number)
        other = self.ticket(_validated(OtherTicketSerializer, request.data, request)["other"])
        services.ticket_link(ticket=ticket, other=other, actor=request.user)
        return self.render(ticket)


class TicketUnlinkView(_TicketAction):
    @_ticket_schema("tickets_unlink", "Mark another ticket as no longer related", OtherTicketSerializer)
    def post(self, request, number: int):
        ticket = self.ticket(number)
        other = self.ticket(_validated(OtherTicketSerializer, request.data, request)["other"])
        services.ticket_unlink(ticket=ticket, other=other, actor=request.user)
        return self.render(ticket)


class TicketSplitView(_TicketAction):
    @_ticket_schema(
        "tickets_split", "Make a message of the ticket a new ticket (answers with it)", SplitSerializer, 201
    )
    def post(self, request, number: int):
        ticket = self.ticket(number)
        data = _validated(SplitSerializer, request.data, request)
        message = Message.objects.filter(ticket=ticket, pk=data["message"]).first()
        if message is None:
            raise NotFound(_("No such message on this ticket."), code="no_message")
        new = services.ticket_split(ticket=ticket, message=message, actor=request.user, subject=data["subject"])
        return self.render(new, status.HTTP_201_CREATED)


# --- bulk -----------------------------------------------------------------------------------------


class BulkView(APIView):
    """One action on many tickets, ticket by ticket: the answer lists those done and, for each one
    left as it was, the error code and message it would have had on its own (200 either way)."""

    permission_classes = [IsSupportStaff]

    @extend_schema(
        tags=[TAG], operation_id="tickets_bulk", request=BulkSerializer, responses={200: BulkResultSerializer, **ERRORS}
    )
    def post(self, request):
        data = _validated(BulkSerializer, request.data, request)
        result = bulk.bulk_apply(
            actor=request.user,
            action=data["action"],
            numbers=data["tickets"],
            line=data["line"],
            reason=data["reason"],
            urgency=data["urgency"],
            tag=data["tag"],
            into=data["into"],
        )
        body = {
            "action": result.action,
            "done": result.done,
            "failed": [
                {"number": number, "error": result.failed_codes[number], "detail": detail}
                for number, detail in result.failed.items()
            ],
            "into": result.into,
        }
        return Response(BulkResultSerializer(body).data)
