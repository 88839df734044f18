"""What the tickets API accepts and what it answers with.

Input serializers only check shapes and types; the rules (who may do what, which
transitions are allowed, what an empty text means) live in tickets.services.
"""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.reverse import reverse

from accounts.models import User
from helpdesk.api import ErrorSerializer
from queues.models import Line
from sla.display import commitment_text, nearest_deadline
from sla.models import Component
from tickets import history, selectors, services
from tickets.markdown import render_markdown
from tickets.models import Category, Channel, EventKind, Message, Status, Tag, Ticket, TicketSecret, Urgency
from tickets.services import BODY_MAX, SUBJECT_MAX
from tickets.views_saved import SORTS

ACCESS_DATA_MAX = 10_000
REASON_MAX = 1000


def _caller(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


def _display_name(user) -> str | None:
    return user.display_name if user is not None else None


# --- errors -------------------------------------------------------------------------------


# The shape of every error answer: the schema's `Error` component.
ApiErrorSerializer = ErrorSerializer


# --- small pieces -------------------------------------------------------------------------


class LineBriefSerializer(serializers.Serializer):
    code = serializers.SlugField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, line) -> str:
        return line.localized_name(get_language())


class SupportLineSerializer(LineBriefSerializer):
    kind = serializers.ChoiceField(choices=Line.Kind.choices, read_only=True)
    level = serializers.IntegerField(read_only=True, allow_null=True)


class TicketAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="original_name", read_only=True)
    size = serializers.IntegerField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField(help_text=_("Download through the API (checks access)."))

    def get_url(self, attachment) -> str:
        return reverse("api:attachment-download", args=[attachment.id], request=self.context.get("request"))


class TicketMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=Message.Kind.choices, read_only=True)
    author = serializers.SerializerMethodField(help_text=_("Display name; null for system messages."))
    body = serializers.CharField(read_only=True, help_text=_("Markdown as written."))
    body_html = serializers.SerializerMethodField(help_text=_("The body rendered and sanitised."))
    created_at = serializers.DateTimeField(read_only=True)
    attachments = TicketAttachmentSerializer(many=True, read_only=True)

    def get_author(self, message) -> str | None:
        return _display_name(message.author)

    def get_body_html(self, message) -> str:
        return str(render_markdown(message.body))


class LineStintSerializer(serializers.Serializer):
    line = serializers.SlugField(source="line.code", read_only=True, help_text=_("Code of the line."))
    entered_at = serializers.DateTimeField(read_only=True)
    left_at = serializers.DateTimeField(read_only=True, allow_null=True)
    seconds = serializers.SerializerMethodField(help_text=_("Time in the line; up to now while it is still there."))

    def get_seconds(self, stint) -> int:
        return int(stint.duration.total_seconds())


# --- tickets ------------------------------------------------------------------------------


class SlaDeadlineSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=["first_response", "next_response", "resolution"])
    due = serializers.DateTimeField()
    seconds_left = serializers.IntegerField(help_text=_("Negative when overdue."))
    state = serializers.ChoiceField(choices=["ok", "warning", "overdue"])


class SlaRecordSerializer(serializers.Serializer):
    kind = serializers.CharField()
    target = serializers.CharField()
    due_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class SlaSerializer(serializers.Serializer):
    commitment = serializers.CharField(help_text=_("The promise shown to the customer."))
    first_response_due = serializers.DateTimeField(allow_null=True)
    first_response_at = serializers.DateTimeField(allow_null=True)
    next_response_due = serializers.DateTimeField(allow_null=True)
    resolution_due = serializers.DateTimeField(allow_null=True, help_text=_("Null while paused."))
    resolution_paused_minutes = serializers.FloatField(allow_null=True)
    records = SlaRecordSerializer(many=True, help_text=_("Warnings, breaches and escalations recorded."))


class TicketListItemSerializer(serializers.Serializer):
    """A ticket in a list: no description, no access data."""

    number = serializers.IntegerField(read_only=True)
    subject = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    category = serializers.ChoiceField(choices=Category.choices, read_only=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices, read_only=True)
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    line = LineBriefSerializer(read_only=True)
    assignee = serializers.SerializerMethodField(help_text=_("Display name of the agent, or null."))
    # Not read-only on purpose: the schema then shows it as optional, which it is (staff only).
    customer = serializers.CharField(
        source="customer.username",
        required=False,
        help_text=_("Username of the customer; present only for support staff."),
    )
    created_at = serializers.DateTimeField(read_only=True)
    last_activity_at = serializers.DateTimeField(read_only=True)
    promised_by = serializers.DateTimeField(read_only=True, allow_null=True)
    sla_deadline = serializers.SerializerMethodField(help_text=_("The nearest deadline of an open ticket, or null."))
    # Output only, like `customer` (these serializers never read input): not read_only, so that
    # the schema shows it as optional, which it is (staff only).
    sender_verified = serializers.BooleanField(
        required=False,
        help_text=_(
            "False for a ticket filed through the feedback form until the sender uses the link mailed to "
            "its address: anyone could have typed the address. Present only for support staff."
        ),
    )

    # Output only and staff only, as `customer`.
    tags = serializers.SlugRelatedField(
        many=True,
        slug_field="name",
        required=False,
        queryset=Tag.objects.none(),
        help_text=_("The ticket's tags; present only for support staff."),
    )

    def get_assignee(self, ticket) -> str | None:
        return _display_name(ticket.assignee)

    @extend_schema_field(SlaDeadlineSerializer(allow_null=True))
    def get_sla_deadline(self, ticket):
        deadline = nearest_deadline(ticket)
        return SlaDeadlineSerializer(deadline).data if deadline else None

    def to_representation(self, instance):
        user = _caller(self)
        if (user is None or not user.is_support_staff) and "tags" in self.fields:
            # Not read at all for a customer: a serializer serves one caller (a list, its child).
            self.fields.pop("tags")
        data = super().to_representation(instance)
        if user is None or not user.is_support_staff:
            data.pop("customer", None)
            data.pop("sender_verified", None)
            data.pop("sender_verified_at", None)
            data.pop("tags", None)
        return data


class TicketDetailSerializer(TicketListItemSerializer):
    """A ticket with its description, thread, files and time in each line; never the access data."""

    service = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True, help_text=_("Markdown as written."))
    body_html = serializers.SerializerMethodField(help_text=_("The description rendered and sanitised."))
    messages = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField(help_text=_("Files attached to the ticket itself."))
    has_access_data = serializers.SerializerMethodField()
    stints = serializers.SerializerMethodField()
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    solved_at_first_level = serializers.BooleanField(read_only=True, allow_null=True)
    hardware_component = serializers.CharField(read_only=True)
    package_task = serializers.CharField(
        read_only=True,
        help_text=_("Administration package: included, extra_pending (accept to start) or extra_accepted."),
    )
    sla = serializers.SerializerMethodField()
    sender_verified_at = serializers.DateTimeField(  # output only and staff only, as `sender_verified`
        required=False,
        allow_null=True,
        help_text=_("When the sender of a feedback-form ticket used the mailed link. Present only for support staff."),
    )

    merged_into = serializers.SerializerMethodField(
        help_text=_("Number of the ticket this one was merged into, or null.")
    )
    related = serializers.SerializerMethodField(
        help_text=_("Numbers of the related tickets and of those merged into this one; present only for support staff.")
    )

    def get_merged_into(self, ticket) -> int | None:
        if ticket.merged_into_id is None:
            return None
        return Ticket.objects.filter(pk=ticket.merged_into_id).values_list("number", flat=True).first()

    def get_related(self, ticket) -> list[int]:
        user = _caller(self)
        if user is None or not user.is_support_staff:
            return []
        return [other.number for other in selectors.ticket_related(ticket=ticket, user=user)]

    @extend_schema_field(SlaSerializer)
    def get_sla(self, ticket):
        records = ticket.sla_records.order_by("created_at", "id")
        if _caller(self) is not None and _caller(self).is_customer:
            records = records.none()
        return SlaSerializer(
            {
                "commitment": commitment_text(ticket),
                "first_response_due": ticket.first_response_due,
                "first_response_at": ticket.first_response_at,
                "next_response_due": ticket.next_response_due,
                "resolution_due": ticket.resolution_due,
                "resolution_paused_minutes": ticket.resolution_paused_minutes,
                "records": list(records),
            }
        ).data

    def get_body_html(self, ticket) -> str:
        return str(render_markdown(ticket.body))

    def _conversation(self, ticket) -> selectors.Conversation:
        """The thread and the files, read together once for the messages and the attachments."""
        cached = getattr(self, "_read", None)
        if cached is None or cached[0] is not ticket:
            cached = (ticket, selectors.ticket_conversation(ticket=ticket, user=_caller(self)))
            self._read = cached
        return cached[1]

    @extend_schema_field(TicketMessageSerializer(many=True))
    def get_messages(self, ticket):
        if getattr(ticket, "filed", None):
            # Just filed: its files are known (get_attachments), only a hook's message may be new.
            thread = selectors.ticket_thread(ticket=ticket, user=_caller(self))
        else:
            thread = self._conversation(ticket).thread
        return TicketMessageSerializer(thread, many=True, context=self.context).data

    @extend_schema_field(TicketAttachmentSerializer(many=True))
    def get_attachments(self, ticket):
        # A ticket filed in this request carries what was written with it (tickets.services.Filed).
        filed = getattr(ticket, "filed", None)
        if filed:
            files = [a for a in filed.attachments if a.message_id is None]
        else:
            files = self._conversation(ticket).ticket_files
        return TicketAttachmentSerializer(files, many=True, context=self.context).data

    def get_has_access_data(self, ticket) -> bool:
        filed = getattr(ticket, "filed", None)
        if filed:
            return filed.has_access_data
        request = self.context.get("request")
        stored = getattr(ticket, "access_data_stored", None)  # read with the ticket (selectors.ticket_get)
        if stored is not None and request is not None and request.method in SAFE_METHODS:
            return stored
        # After a write the ticket's reading is out of date: the write may have stored or wiped it.
        return TicketSecret.objects.filter(ticket_id=ticket.pk).exists()

    @extend_schema_field(LineStintSerializer(many=True))
    def get_stints(self, ticket):
        filed = getattr(ticket, "filed", None)
        stints = filed.stints if filed else selectors.ticket_stints(ticket=ticket)
        return LineStintSerializer(stints, many=True, context=self.context).data


class TicketEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EventKind.choices, read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    actor = serializers.SerializerMethodField(help_text=_("Display name; null for the system."))
    data = serializers.JSONField(read_only=True, help_text=_("Details of the change; the keys depend on the kind."))
    change_display = serializers.SerializerMethodField(
        help_text=_("The change as “old → new”, values by their labels in the request's language; empty when none.")
    )
    reason_display = serializers.SerializerMethodField(
        help_text=_("The reason in the request's language (the helpdesk's own) or as the agent typed it.")
    )
    created_at = serializers.DateTimeField(read_only=True)

    def get_actor(self, event) -> str | None:
        return _display_name(event.actor)

    def get_change_display(self, event) -> str:
        return history.change_text(event)

    def get_reason_display(self, event) -> str:
        return history.reason_text(event)


class ReplyTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.SlugField(read_only=True)
    language = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True, help_text=_("With placeholders."))
    rendered = serializers.SerializerMethodField(help_text=_("Placeholders filled in for this ticket and agent."))

    def get_rendered(self, template) -> str:
        rendered = self.context.get("rendered")  # all of them at once (services.templates_render)
        if rendered is not None:
            return rendered[template.id]
        return services.template_render(template=template, ticket=self.context["ticket"], agent=_caller(self))


class AccessDataSerializer(serializers.Serializer):
    access_data = serializers.CharField(read_only=True)


# --- input --------------------------------------------------------------------------------


class TicketListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    line = serializers.SlugField(required=False, help_text=_("Code of a line."))
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    assignee = serializers.ChoiceField(
        choices=[("me", "me"), ("none", "none")], required=False, help_text=_("`me`: mine; `none`: unassigned.")
    )
    q = serializers.CharField(
        required=False,
        max_length=200,
        help_text=_(
            "Full-text search, as `GET /api/v1/tickets/search/` (which also says what matched): words of the "
            "subject, messages, customer, organisation or service in Russian or English, numbers and IP "
            "addresses; a ticket number finds that ticket and those that mention it."
        ),
    )
    search = serializers.CharField(required=False, max_length=200, help_text=_("The same as `q`."))
    open = serializers.BooleanField(required=False, default=False, help_text=_("Only tickets not yet resolved."))
    tag = serializers.CharField(required=False, max_length=40, help_text=_("Only tickets with this tag (staff)."))
    view = serializers.CharField(
        required=False,
        max_length=20,
        help_text=_(
            "A saved view (its id) or a built-in one (`my-open`, `breaching-today`, `waiting-customer`): its "
            "filters and order, the other parameters on top (staff)."
        ),
    )
    sort = serializers.ChoiceField(
        choices=[(key, key) for name in SORTS for key in (name, f"-{name}")],
        required=False,
        help_text=_("The order: a key, `-` before it for descending (staff). Default `-activity`."),
    )


class FileListField(serializers.ListField):
    child = serializers.FileField(allow_empty_file=True, use_url=False)

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", list)
        kwargs.setdefault("help_text", _("Files (multipart/form-data only); checked by their content."))
        super().__init__(**kwargs)


class TicketCreateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=SUBJECT_MAX, allow_blank=True)
    body = serializers.CharField(max_length=BODY_MAX, allow_blank=True, help_text=_("Markdown."))
    category = serializers.ChoiceField(choices=Category.choices, default=Category.GENERAL)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.NORMAL)
    service = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    hardware_component = serializers.ChoiceField(
        choices=Component.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Hardware replacement requests: which component; it sets the replacement window."),
    )
    access_data = serializers.CharField(
        max_length=ACCESS_DATA_MAX,
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        trim_whitespace=False,
        help_text=_("Server access data; stored encrypted, never returned by the ticket."),
    )
    customer = serializers.CharField(
        required=False, help_text=_("Staff only: username of the customer the ticket is filed for.")
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        default=Channel.API,
        help_text=_("Staff only: where the request came from. Customers' tickets always come from the API."),
    )
    attachments = FileListField()

    def validate_access_data(self, value):
        # Whitespace alone is no access data (and must not leave an empty secret behind).
        return value if value.strip() else ""

    def validate_customer(self, value):
        user = _caller(self)
        if user is not None and user.is_support_staff:
            customer = User.objects.filter(username=value).first()
            if customer is None:
                raise serializers.ValidationError(_("No user with this username."), code="does_not_exist")
            return customer
        # Customers file for themselves; the view refuses any other name without looking it up.
        return value


class TicketMessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX, allow_blank=True, help_text=_("Markdown."))
    kind = serializers.ChoiceField(
        choices=[(Message.Kind.PUBLIC, Message.Kind.PUBLIC.label), (Message.Kind.NOTE, Message.Kind.NOTE.label)],
        default=Message.Kind.PUBLIC,
        help_text=_("`note` is internal (staff only)."),
    )
    wait_for_customer = serializers.BooleanField(
        default=False, help_text=_("Staff: after this reply the ticket waits for the customer.")
    )
    attachments = FileListField()
    seen = serializers.IntegerField(
        min_value=0,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "The id of the last message the writer has read (0: none). When someone else wrote "
            "since, nothing is written and the answer is 409 `replied_since`."
        ),
    )


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True, default="")


class TicketTransferSerializer(serializers.Serializer):
    line = serializers.SlugRelatedField(
        slug_field="code", queryset=Line.objects.all(), help_text=_("Code of the line to pass the ticket to.")
    )
    reason = serializers.CharField(max_length=REASON_MAX, allow_blank=True)


class TicketUrgencySerializer(serializers.Serializer):
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    reason = serializers.CharField(max_length=REASON_MAX, allow_blank=True)


class AwareDateTimeField(serializers.DateTimeField):
    """A date and time that must carry its time zone (no guessing for promises to customers)."""

    default_error_messages = {"naive": _("Give the time with its time zone, e.g. 2030-01-31T18:00:00+03:00.")}

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class TicketPromiseSerializer(serializers.Serializer):
    promised_by = AwareDateTimeField(help_text=_("ISO 8601 with the time zone."))
    reason = serializers.CharField(
        max_length=REASON_MAX, required=False, allow_blank=True, default="", help_text=_("Needed when changing.")
    )


class TicketReopenSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX, allow_blank=True, help_text=_("What is still wrong."))


class AccessDataStoreSerializer(serializers.Serializer):
    access_data = serializers.CharField(max_length=ACCESS_DATA_MAX, allow_blank=True, trim_whitespace=False)


class TemplateQuerySerializer(serializers.Serializer):
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, required=False, help_text=_("Only templates in this language.")
    )


class LineQuerySerializer(serializers.Serializer):
    ticket = serializers.IntegerField(
        required=False, help_text=_("A ticket number: only the lines it can be transferred to.")
    )


class CallCreateSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text=_("Username of the customer who called."))
    ticket = serializers.IntegerField(
        required=False, min_value=1, help_text=_("Existing ticket number; empty: a new ticket.")
    )
    duration_seconds = serializers.IntegerField(min_value=1, max_value=8 * 3600)
    summary = serializers.CharField(max_length=BODY_MAX)
    subject = serializers.CharField(max_length=SUBJECT_MAX, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=Category.choices, default=Category.GENERAL)


class CallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ticket = serializers.IntegerField(source="ticket.number")
    duration_seconds = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_duration_seconds(self, call) -> int:
        return int(call.duration.total_seconds())
