"""The tickets API: thin views that check the input, call one service or selector, and render.

Tickets are addressed by their number. Who may do what is decided by tickets.services;
errors come back as {"error", "detail", "field"} through helpdesk.api.exception_handler.
"""

import datetime as dt
from functools import partial

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.permissions import IsSupportStaff
from helpdesk.errors import DomainError, PermissionDenied
from tickets import idempotency, selectors, services, views_saved
from tickets.api import serializers as s
from tickets.pagination import LookaheadPaginator

TAG = "tickets"
ERRORS = {
    400: OpenApiResponse(s.ApiErrorSerializer, description="Invalid input (`field` names it)."),
    403: OpenApiResponse(s.ApiErrorSerializer, description="Not allowed for the caller."),
    404: OpenApiResponse(s.ApiErrorSerializer, description="No such ticket, or not visible to the caller."),
    409: OpenApiResponse(s.ApiErrorSerializer, description="Not possible now, e.g. `illegal_transition`."),
}
READ_ERRORS = {404: ERRORS[404]}
# Content types a download keeps; everything else is sent as opaque bytes.
SAFE_DOWNLOAD_TYPES = {"application/pdf", "application/zip", "application/gzip"}


def validated(serializer_class, data, request) -> dict:
    """Validated input. Invalid input is a 400 in the API's one error shape (helpdesk.api): the
    first message with its field, and every message by field."""
    serializer = serializer_class(data=data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class TicketPagination(PageNumberPagination):
    """Pages whose `count` stops ten pages past the one asked for, as on the HTML lists.

    An exact count read every ticket the caller may see on every request (80 ms of 130 for an
    agent's 44,000 tickets, and growing with the line). `count_exact` is false when the count
    stopped early; `next` is always right, and there is no `page=last`.
    """

    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param) or "1"
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 1
        # A number that is no page goes to Django's paginator, which refuses it (a 404).
        self.django_paginator_class = partial(LookaheadPaginator, number=number)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_exact"] = not self.page.paginator.has_more
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count"]["description"] = (
            "Matching tickets, counted up to ten pages past this one (see `count_exact`)."
        )
        schema["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when more tickets match than `count` says: the count stopped early.",
        }
        schema["required"] = [*schema.get("required", []), "count_exact"]
        return schema


class TicketView(APIView):
    """Base for the views of one ticket, addressed by its number."""

    def get_ticket(self, number: int):
        return selectors.ticket_get(user=self.request.user, number=number)

    def render_ticket(self, ticket, status_code=status.HTTP_200_OK) -> Response:
        context = {"request": self.request}
        return Response(s.TicketDetailSerializer(ticket, context=context).data, status=status_code)


def _workspace_list(user, query):
    """The list by a saved or built-in view, a tag or an order (tickets.views_saved), the other
    parameters on top of the view's filters. Views and tags are the staff's."""
    if (query.get("view") or query.get("tag")) and not user.is_support_staff:
        raise PermissionDenied(_("Only support staff use views and tags."))
    view = views_saved.view_get(user=user, key=query["view"]) if query.get("view") else None
    asked = {
        "status": query.get("status"),
        "line": query.get("line"),
        "q": query.get("q") or query.get("search"),
        "assignee": query.get("assignee"),
        "urgency": query.get("urgency"),
        "category": query.get("category"),
        "tag": query.get("tag"),
        "open": query["open"] or None,
    }
    filters = {**(views_saved.filters_clean(view.filters) if view else {}), **views_saved.filters_clean(asked)}
    sort = query.get("sort") or (view.sort if view else "")
    return views_saved.workspace_tickets(user=user, filters=filters, sort=sort)


class TicketListView(GenericAPIView):
    """The caller's tickets (customers: their own; agents: their lines'; managers: all)."""

    pagination_class = TicketPagination
    serializer_class = s.TicketListItemSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="tickets_list",
        parameters=[s.TicketListQuerySerializer],
        responses={200: s.TicketListItemSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request):
        query = validated(s.TicketListQuerySerializer, request.query_params, request)
        if query.get("view") or query.get("tag") or query.get("sort"):
            tickets = _workspace_list(request.user, query)
        else:
            tickets = selectors.ticket_list(
                user=request.user,
                status=query.get("status"),
                line=query.get("line"),
                search=query.get("q") or query.get("search"),
                assignee=query.get("assignee"),
                urgency=query.get("urgency"),
                category=query.get("category"),
                open_only=query["open"],
            )
        if request.user.is_support_staff:
            tickets = tickets.prefetch_related("tags")
        page = self.paginate_queryset(tickets)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="tickets_create",
        summary="Open a ticket",
        description="Customers open tickets for themselves. Support staff file on a customer's behalf by "
        "giving `customer` (a username) and, optionally, the `channel` the request came by. "
        "Send multipart/form-data to attach files. Give an `Idempotency-Key` header (a UUID, say) to "
        "send the request again safely after a lost answer: the ticket is filed once and the same answer "
        "comes back (with `Idempotent-Replayed: true`) for a day.",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Any 1 to 255 visible ASCII characters chosen by the client, new for each new "
                "ticket. The same key with a different request is a 409 `idempotency_key_reused`.",
            )
        ],
        request=s.TicketCreateSerializer,
        responses={201: s.TicketDetailSerializer, 400: ERRORS[400], 403: ERRORS[403]},
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return Response(self.answer(self.file(request), request), status=status.HTTP_201_CREATED)
        key = idempotency.clean_key(key, field="Idempotency-Key")
        filed = idempotency.ticket_create_once(
            user=request.user,
            scope="api",
            key=key,
            fingerprint=idempotency.request_fingerprint(request.data),
            create=lambda: self.file(request),
            answer=lambda ticket: self.answer(ticket, request),
        )
        headers = {"Idempotent-Replayed": "true"} if filed.replayed else None
        return Response(filed.response, status=filed.status_code, headers=headers)

    def file(self, request):
        """File the ticket the request describes."""
        data = validated(s.TicketCreateSerializer, request.data, request)
        user = request.user
        if user.is_customer:
            if data.get("customer") not in (None, user.get_username()):
                raise PermissionDenied(_("Only support staff may file a ticket for a customer."))
            customer, created_by, channel = user, None, "api"
        else:
            customer, created_by, channel = data.get("customer", user), user, data["channel"]
        ticket = services.ticket_create(
            customer=customer,
            created_by=created_by,
            channel=channel,
            subject=data["subject"],
            body=data["body"],
            category=data["category"],
            urgency=data["urgency"],
            service=data["service"],
            access_data=data["access_data"],
            hardware_component=data["hardware_component"],
            attachments=data["attachments"],
        )
        return ticket

    @staticmethod
    def answer(ticket, request) -> dict:
        return s.TicketDetailSerializer(ticket, context={"request": request}).data


class TicketDetailView(TicketView):
    """One ticket with its thread; customers never see internal notes or access data."""

    @extend_schema(
        tags=[TAG], operation_id="tickets_retrieve", responses={200: s.TicketDetailSerializer, **READ_ERRORS}
    )
    def get(self, request, number):
        return self.render_ticket(self.get_ticket(number))


class TicketHistoryView(TicketView):
    """The ticket's audit trail. Customers do not see what concerns internal notes."""

    @extend_schema(
        tags=[TAG], operation_id="tickets_history", responses={200: s.TicketEventSerializer(many=True), **READ_ERRORS}
    )
    def get(self, request, number):
        ticket = self.get_ticket(number)
        events = selectors.ticket_history(ticket=ticket, user=request.user)
        return Response(s.TicketEventSerializer(events, many=True, context={"request": request}).data)


class TicketMessagesView(TicketView):
    """Write to the ticket: a reply, or (staff) an internal note."""

    @extend_schema(
        tags=[TAG],
        operation_id="tickets_messages_create",
        request=s.TicketMessageCreateSerializer,
        responses={201: s.TicketMessageSerializer, **ERRORS},
    )
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.TicketMessageCreateSerializer, request.data, request)
        message = services.message_add(
            ticket=ticket,
            author=request.user,
            body=data["body"],
            kind=data["kind"],
            wait_for_customer=data["wait_for_customer"],
            attachments=data["attachments"],
            seen=data["seen"],
        )
        body = s.TicketMessageSerializer(message, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


def _action_schema(operation_id: str, summary: str, request=None, errors=(403, 404, 409)):
    return extend_schema(
        tags=[TAG],
        operation_id=operation_id,
        summary=summary,
        request=request,
        responses={200: s.TicketDetailSerializer, **{code: ERRORS[code] for code in (400, *errors)}},
    )


class TicketTakeView(TicketView):
    @_action_schema("tickets_take", "Take the ticket (staff of its line)")
    def post(self, request, number):
        return self.render_ticket(services.ticket_take(ticket=self.get_ticket(number), agent=request.user))


class TicketReleaseView(TicketView):
    @_action_schema("tickets_release", "Give the ticket back to its line", request=s.ReleaseSerializer)
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.ReleaseSerializer, request.data, request)
        return self.render_ticket(services.ticket_release(ticket=ticket, agent=request.user, reason=data["reason"]))


class TicketTransferView(TicketView):
    @_action_schema("tickets_transfer", "Pass the ticket to another line", request=s.TicketTransferSerializer)
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.TicketTransferSerializer, request.data, request)
        ticket = services.ticket_transfer(
            ticket=ticket, actor=request.user, to_line=data["line"], reason=data["reason"]
        )
        return self.render_ticket(ticket)


class TicketUrgencyView(TicketView):
    @_action_schema("tickets_urgency", "Change the urgency, with a reason", request=s.TicketUrgencySerializer)
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.TicketUrgencySerializer, request.data, request)
        ticket = services.ticket_set_urgency(
            ticket=ticket, actor=request.user, urgency=data["urgency"], reason=data["reason"]
        )
        return self.render_ticket(ticket)


class TicketPromiseView(TicketView):
    @_action_schema("tickets_promise", "Promise when it will be solved", request=s.TicketPromiseSerializer)
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.TicketPromiseSerializer, request.data, request)
        ticket = services.ticket_set_promise(
            ticket=ticket, actor=request.user, promised_by=data["promised_by"], reason=data["reason"]
        )
        return self.render_ticket(ticket)


class TicketResolveView(TicketView):
    @_action_schema("tickets_resolve", "Mark the ticket resolved (staff)")
    def post(self, request, number):
        return self.render_ticket(services.ticket_resolve(ticket=self.get_ticket(number), actor=request.user))


class TicketConfirmView(TicketView):
    @_action_schema("tickets_confirm", "Confirm the solution and close the ticket (customer)")
    def post(self, request, number):
        return self.render_ticket(services.ticket_confirm(ticket=self.get_ticket(number), customer=request.user))


class TicketAcceptExtraChargeView(TicketView):
    @_action_schema("tickets_accept_extra_charge", "Accept the extra charge for a task beyond the package (customer)")
    def post(self, request, number):
        ticket = services.ticket_accept_extra_charge(ticket=self.get_ticket(number), customer=request.user)
        return self.render_ticket(ticket)


class TicketReopenView(TicketView):
    @_action_schema("tickets_reopen", "Reopen a resolved or closed ticket (customer)", request=s.TicketReopenSerializer)
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.TicketReopenSerializer, request.data, request)
        return self.render_ticket(services.ticket_reopen(ticket=ticket, customer=request.user, body=data["body"]))


class TicketAccessDataView(TicketView):
    """Server access data: stored encrypted; replaced by the customer or the ticket's current line."""

    @_action_schema(
        "tickets_access_data_store",
        "Store or replace the access data (the customer, or staff of the ticket's current line)",
        request=s.AccessDataStoreSerializer,
    )
    def post(self, request, number):
        ticket = self.get_ticket(number)
        data = validated(s.AccessDataStoreSerializer, request.data, request)
        services.secret_store(ticket=ticket, actor=request.user, access_data=data["access_data"])
        return self.render_ticket(ticket)


class TicketAccessDataRevealView(TicketView):
    """A POST, not a GET: a reveal writes to the audit trail, and a GET could be set off by a
    link or an image on another site in a signed-in agent's browser."""

    @extend_schema(
        tags=[TAG],
        operation_id="tickets_access_data_reveal",
        summary="Reveal the access data (staff of the ticket's current line; recorded in the history)",
        request=None,
        responses={200: s.AccessDataSerializer, 403: ERRORS[403], 404: ERRORS[404]},
    )
    def post(self, request, number):
        plaintext = services.secret_reveal(ticket=self.get_ticket(number), actor=request.user)
        response = Response({"access_data": plaintext})
        response["Cache-Control"] = "no-store"
        return response


class TicketTemplatesView(TicketView):
    """Reply templates of the ticket's line, filled in for this ticket and the calling agent."""

    permission_classes = [IsSupportStaff]

    @extend_schema(
        tags=[TAG],
        operation_id="tickets_templates",
        parameters=[s.TemplateQuerySerializer],
        responses={200: s.ReplyTemplateSerializer(many=True), 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    def get(self, request, number):
        ticket = self.get_ticket(number)
        query = validated(s.TemplateQuerySerializer, request.query_params, request)
        templates = selectors.templates_for(ticket=ticket, language=query.get("language"))
        rendered = services.templates_render(templates=templates, ticket=ticket, agent=request.user)
        context = {"request": request, "ticket": ticket, "rendered": rendered}
        return Response(s.ReplyTemplateSerializer(templates, many=True, context=context).data)


class IgnoreAcceptHeader(BaseContentNegotiation):
    """A download is bytes whatever the client asks for; errors still come back as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AttachmentDownloadView(APIView):
    """Download a file of a ticket the caller may see; always as an attachment, never rendered."""

    content_negotiation_class = IgnoreAcceptHeader

    @extend_schema(
        tags=[TAG],
        operation_id="attachments_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file; images, PDF, ZIP and GZIP keep their type."
            ),
            404: ERRORS[404],
        },
    )
    def get(self, request, pk):
        attachment = selectors.attachment_get(user=request.user, attachment_id=pk)
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.original_name,
            content_type=download_content_type(attachment.content_type),
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private"
        return response


def download_content_type(content_type: str) -> str:
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type in SAFE_DOWNLOAD_TYPES:
        return content_type
    # Images keep their type, except SVG, which is a document that can carry scripts.
    if content_type.startswith("image/") and content_type != "image/svg+xml":
        return content_type
    return "application/octet-stream"


class LineListView(APIView):
    """Active support lines and departments, for choosing where to transfer a ticket (staff)."""

    permission_classes = [IsSupportStaff]

    @extend_schema(
        tags=[TAG],
        operation_id="lines_list",
        parameters=[s.LineQuerySerializer],
        responses={200: s.SupportLineSerializer(many=True), 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    def get(self, request):
        query = validated(s.LineQuerySerializer, request.query_params, request)
        if query.get("ticket") is not None:
            ticket = selectors.ticket_get(user=request.user, number=query["ticket"])
            lines = selectors.transfer_targets(ticket=ticket)
        else:
            lines = selectors.active_lines()
        return Response(s.SupportLineSerializer(lines, many=True, context={"request": request}).data)


class CallLogView(APIView):
    """Log a phone call on a customer's behalf (staff): a new ticket or a message on one."""

    permission_classes = [IsSupportStaff]

    @extend_schema(
        tags=[TAG],
        operation_id="calls_create",
        request=s.CallCreateSerializer,
        responses={201: s.CallSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404], 409: ERRORS[409]},
    )
    def post(self, request):
        data = validated(s.CallCreateSerializer, request.data, request)
        customer = User.objects.filter(username=data["customer"], role=Role.CUSTOMER).first()
        if customer is None:
            raise DomainError(_("No such customer."), code="invalid", field="customer")
        ticket = selectors.ticket_get(user=request.user, number=data["ticket"]) if data.get("ticket") else None
        call = services.call_log(
            agent=request.user,
            customer=customer,
            duration=dt.timedelta(seconds=data["duration_seconds"]),
            summary=data["summary"],
            ticket=ticket,
            subject=data["subject"],
            category=data["category"],
        )
        return Response(s.CallSerializer(call).data, status=status.HTTP_201_CREATED)
