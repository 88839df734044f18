"""Tickets, their messages, and the reply templates agents answer with."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Func, Value
from django.db.models.functions import Least, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Human-friendly ticket numbers come from their own sequence, so bulk loads and
# imports keep numbering without touching primary keys.
TICKET_NUMBER_SEQUENCE = "tickets_ticket_number_seq"
TICKET_NUMBER_START = 100001


class NextTicketNumber(Func):
    function = "nextval"
    output_field = models.BigIntegerField()

    def __init__(self):
        super().__init__(Value(TICKET_NUMBER_SEQUENCE))


class Category(models.TextChoices):
    GENERAL = "general", _("General question")
    PRESALE = "presale", _("Pre-sale question")
    BILLING = "billing", _("Billing")
    TECH_SIMPLE = "tech_simple", _("Technical, simple")
    TECH_MEDIUM = "tech_medium", _("Technical, medium")
    TECH_COMPLEX = "tech_complex", _("Technical, complex")
    HARDWARE = "hardware", _("Hardware replacement")
    ADMIN_WORK = "admin_work", _("Administration work")


class Channel(models.TextChoices):
    PANEL = "panel", _("Control panel")
    FORM = "form", _("Feedback form")
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    API = "api", _("API")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical: service down")


class Status(models.TextChoices):
    NEW = "new", _("New")
    WAITING_AGENT = "waiting_agent", _("Waiting for an agent")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for the customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (Status.NEW, Status.WAITING_AGENT, Status.IN_PROGRESS, Status.WAITING_CUSTOMER)


# The workspace's computed orders (tickets.views_saved.SORTS), indexed over the open tickets.
OPEN_URGENCY_RANK = models.Case(
    models.When(urgency=Urgency.CRITICAL, then=models.Value(0)),
    models.When(urgency=Urgency.HIGH, then=models.Value(1)),
    default=models.Value(2),
    output_field=models.IntegerField(),
)
OPEN_STATUS_RANK = models.Case(
    *(models.When(status=value, then=models.Value(rank)) for rank, value in enumerate(Status.values)),
    output_field=models.IntegerField(),
)
# The nearest deadline that counts now, as sla.display.nearest_deadline picks it (the resolution
# clock runs in these statuses: sla.deadlines.RUNNING); PostgreSQL's LEAST skips the NULLs.
OPEN_SLA_DUE = Least(
    models.Case(
        models.When(first_response_at__isnull=True, then=models.F("first_response_due")),
        output_field=models.DateTimeField(),
    ),
    models.F("next_response_due"),
    models.Case(
        models.When(status__in=[Status.NEW, Status.WAITING_AGENT, Status.IN_PROGRESS], then=models.F("resolution_due")),
        output_field=models.DateTimeField(),
    ),
)


class PackageTask(models.TextChoices):
    """Paid administration packages: is this administration task inside the month's package?"""

    INCLUDED = "included", _("Included in the package")
    EXTRA_PENDING = "extra_pending", _("Beyond the package: waiting for the customer to accept the charge")
    EXTRA_ACCEPTED = "extra_accepted", _("Beyond the package: extra charge accepted")


class SystemReason(models.TextChoices):
    """The helpdesk's own reasons in the history, by code; the label is the sentence, with the
    reason's values as %(name)s. Stored as `reason_code` and `reason_params` (with the English
    sentence as `reason`, for the API and the logs) and read in the reader's language
    (tickets.events.system_reason, tickets.history.reason_text)."""

    RELEASED = "released", _("released")
    CUSTOMER_REPLIED = "customer_replied", _("the customer replied")
    # The reply's own e-mail tells the customer: a status change with this reason sends none.
    AGENT_REPLIED = "agent_replied", _("an agent replied")
    CUSTOMER_CALLED = "customer_called", _("the customer called")
    TRANSFERRED = "transferred", _("transferred to another line")
    CONFIRMED = "confirmed", _("confirmed by the customer")
    REOPENED = "reopened", _("reopened by the customer")
    TICKET_CLOSED = "ticket_closed", _("the ticket was closed")
    NO_ANSWER = "no_answer", _("no answer from the customer")
    NOT_CONFIRMED = "not_confirmed", _("the solution was not confirmed in time")
    EXTRA_CHARGE_ACCEPTED = "extra_charge_accepted", _("the extra charge was accepted")
    SLA_BREACH = "sla_breach", _("Escalated: the deadline for the %(target)s passed.")
    FIRST_LINE_TIMER = "first_line_timer", _("No first response within %(minutes)s working minutes.")
    MAILBOX = "mailbox", _("Sent to %(address)s")
    SENDER_LINKED = "sender_linked", _("E-mail from %(address)s recognised as this customer's.")
    # Access data written in an e-mail, moved out of its text (mailin, tickets.services.secret_store_from_email).
    ACCESS_DATA_BY_EMAIL = "access_data_by_email", _("found in an e-mail and moved out of its text")
    # Resolved with a reply to every ticket linked to an incident (status.services).
    INCIDENT_RESOLVED = "incident_resolved", _("the incident it was linked to was resolved")
    # A ticket merged into another (tickets.services.ticket_merge).
    MERGED = "merged", _("merged into ticket #%(number)s")


class Ticket(models.Model):
    number = models.BigIntegerField(_("number"), unique=True, db_default=NextTicketNumber(), editable=False)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("description"), help_text=_("Markdown."))
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.GENERAL)
    service = models.CharField(
        _("service or server"), max_length=200, blank=True, help_text=_("Which of the customer's services it concerns.")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.PANEL)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    # line and customer: indexed by the composite indexes below that start with them.
    line = models.ForeignKey(
        "queues.Line", verbose_name=_("line"), on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    language = models.CharField(_("language"), max_length=8, default="ru")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    solved_at_first_level = models.BooleanField(_("solved at the first level"), null=True, blank=True)
    promised_by = models.DateTimeField(
        _("expected to be solved by"), null=True, blank=True, help_text=_("The agent's promise to the customer.")
    )
    line_entered_at = models.DateTimeField(_("in this line since"), default=timezone.now, db_default=Now())
    # The weighted queue (queues.services): the order key is stored, so taking the next
    # ticket and counting a position are index scans.
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    credit_minutes = models.PositiveIntegerField(_("head start (minutes)"), default=0, db_default=0)
    virtual_time = models.DateTimeField(_("queue order key"), null=True, blank=True)
    weight_parts = models.JSONField(_("weight, explained"), default=dict, blank=True, db_default={})
    # Service levels (sla.services): deadlines are stored instants in the line's business time.
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_response_due = models.DateTimeField(_("next response due"), null=True, blank=True)
    next_response_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_paused_minutes = models.FloatField(
        _("resolution time left while paused (business minutes)"), null=True, blank=True, editable=False
    )
    sla_commitment = models.JSONField(_("commitment"), default=dict, blank=True, db_default={})
    hardware_component = models.CharField(
        _("component to replace"),
        max_length=8,
        blank=True,
        db_default="",
        help_text=_("For hardware replacement requests."),
    )
    # Paid administration packages: is this administration task inside the month's package?
    package_task = models.CharField(
        _("administration package task"),
        max_length=16,
        blank=True,
        db_default="",
        choices=PackageTask.choices,
    )
    # The earliest instant the SLA sweep has something to do for this ticket (warning,
    # breach, escalation, reminder, auto-close); indexed, so a sweep costs what is due.
    sla_next_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The feedback form proves nothing about the address typed into it: a ticket filed there is
    # from an unverified sender until the follow link mailed to that address is used
    # (tickets.services.ticket_verify_sender). Tickets from signed-in customers and staff are verified.
    sender_verified = models.BooleanField(
        _("sender verified"),
        default=True,
        db_default=True,
        help_text=_("False while nobody has shown they own the e-mail address the ticket was filed with."),
    )
    sender_verified_at = models.DateTimeField(_("sender verified at"), null=True, blank=True)
    # Merged into another ticket (tickets.services.ticket_merge): closed, its messages and files
    # moved to the survivor, its own history kept here.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_tickets",
    )
    tags = models.ManyToManyField(
        "Tag", through="TicketTag", related_name="tickets", verbose_name=_("tags"), blank=True
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["customer", "-last_activity_at"], name="tickets_customer_activity"),
            models.Index(fields=["line", "status", "-last_activity_at"], name="tickets_line_status_activity"),
            # The lists' order (newest activity first), read in order until a page is full: an
            # agent's closed or all tickets, a manager's lists. Without it every list sorts all
            # the tickets it matches.
            models.Index(fields=["-last_activity_at", "-id"], name="tickets_activity"),
            # The open tickets alone, in the same order: the workspace's default list and its
            # count, answered from the index (line and assignee are there for the agent's scope).
            models.Index(
                fields=["-last_activity_at", "-id"],
                include=["line", "assignee"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="tickets_open_activity",
            ),
            # The workspace's views and sorts over the open tickets (tickets.views_saved): every
            # column their filters, scope and orders read, so the page's numbers come from the
            # index alone (tickets.bulk_views.LateRowPaginator) and only twenty rows are fetched.
            models.Index(
                fields=["id"],
                include=[
                    "line",
                    "assignee",
                    "status",
                    "urgency",
                    "last_activity_at",
                    "first_response_at",
                    "first_response_due",
                    "next_response_due",
                    "resolution_due",
                ],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="tickets_open_workspace",
            ),
            # The open tickets in the orders the workspace sorts by that no column gives: the
            # nearest deadline ("breaching today" reads a range of it), urgency and status.
            # tickets.views_saved builds its ORDER BY from the same expressions.
            models.Index(
                OPEN_SLA_DUE.asc(nulls_last=True),
                models.F("last_activity_at").desc(),
                models.F("id").desc(),
                condition=models.Q(status__in=OPEN_STATUSES),
                name="tickets_open_due",
            ),
            # "My open" (by deadline): an agent's own open tickets, in that order.
            models.Index(
                models.F("assignee"),
                OPEN_SLA_DUE.asc(nulls_last=True),
                models.F("last_activity_at").desc(),
                models.F("id").desc(),
                condition=models.Q(status__in=OPEN_STATUSES),
                name="tickets_open_assignee_due",
            ),
            # "My open" counted: an agent's own open tickets from the index alone (with what the
            # agent's scope reads), where the count walked the open tickets by activity until it
            # met a hundred of theirs (2,800 buffers at a million tickets; this, 6).
            models.Index(
                fields=["assignee"],
                include=["id", "line", "status"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="tickets_open_assignee",
            ),
            models.Index(
                OPEN_URGENCY_RANK,
                models.F("last_activity_at").desc(),
                models.F("id").desc(),
                condition=models.Q(status__in=OPEN_STATUSES),
                name="tickets_open_urgency",
            ),
            models.Index(
                OPEN_STATUS_RANK,
                models.F("last_activity_at").desc(),
                models.F("id").desc(),
                condition=models.Q(status__in=OPEN_STATUSES),
                name="tickets_open_status",
            ),
            models.Index(
                fields=["sla_next_check_at"],
                name="tickets_sla_due",
                condition=models.Q(sla_next_check_at__isnull=False),
            ),
            # Waiting tickets per line in queue order: take-next and queue positions.
            models.Index(
                fields=["line", "virtual_time", "id"],
                name="tickets_waiting_queue",
                condition=models.Q(status__in=[Status.NEW, Status.WAITING_AGENT], assignee__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class Message(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", _("Reply")
        NOTE = "note", _("Internal note")
        SYSTEM = "system", _("System message")

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.PUBLIC)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="tickets_message_thread")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket_id}"


class TicketSearch(models.Model):
    """A ticket's words for full-text search (tickets.search): its number, subject, description
    and service, its customer's name, login and e-mail, the organisation, and every message,
    each text in its own language (Russian or English stemming, by its letters).

    Kept by database triggers (migration 0021), not by the services: every writer of tickets
    and messages (the services, the take-next statement, the bulk loaders' COPY, a merge)
    keeps it right without knowing of it. One row per ticket, so a search is one GIN index
    and one predicate the planner weighs against the list's order.
    """

    ticket = models.OneToOneField(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.DO_NOTHING,  # the triggers delete the row with its ticket
        primary_key=True,
        related_name="search",
        db_constraint=False,
    )
    # The ticket's line, customer and organisation, beside the words in the GIN index: a search
    # reads only the matches of the user's lines, or of the customer's own tickets.
    line_id = models.BigIntegerField(_("line"))
    customer_id = models.BigIntegerField(_("customer"))
    organisation_id = models.BigIntegerField(_("organisation"), null=True)
    # Everything, internal notes included: what staff search.
    document = SearchVectorField(_("words"))
    # The same without the internal notes, for the customer; null while the ticket has no note.
    customer_document = SearchVectorField(_("words the customer sees"), null=True)

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        indexes = [
            GinIndex(fields=["line_id", "customer_id", "organisation_id", "document"], name="tickets_search_document"),
            # A customer's own rows (and their organisation's), read one by one when a word is
            # common: a few hundred rows rather than the word's whole entry in the GIN index.
            models.Index(fields=["customer_id"], name="tickets_search_customer"),
            models.Index(
                fields=["organisation_id"],
                name="tickets_search_organisation",
                condition=models.Q(organisation_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"search #{self.ticket_id}"


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status", _("Status changed")
    TRANSFER = "transfer", _("Transferred")
    ASSIGN = "assign", _("Assignee changed")
    URGENCY = "urgency", _("Urgency changed")
    PROMISE = "promise", _("Promise set")
    MESSAGE = "message", _("Message added")
    ATTACHMENT = "attachment", _("File attached")
    SECRET_SET = "secret_set", _("Access data stored")
    SECRET_REVEAL = "secret_reveal", _("Access data revealed")
    SECRET_WIPE = "secret_wipe", _("Access data wiped")
    BOOST = "boost", _("Moved up the queue")
    SLA = "sla", _("Service level")
    CALL = "call", _("Phone call logged")
    CUSTOMER = "customer", _("Customer changed")
    SENDER_VERIFIED = "sender_verified", _("Sender's address confirmed")
    PACKAGE_TASK = "package_task", _("Administration package task")
    # Linked to or unlinked from a known problem (status.IncidentTicket); old/new name the incident.
    INCIDENT = "incident", _("Incident link")
    # Tickets that belong together (tickets.services.ticket_merge, ticket_link, ticket_split) and tags.
    MERGE = "merge", _("Merged")
    LINK = "link", _("Related ticket")
    SPLIT = "split", _("Split")
    TAG = "tag", _("Tags changed")


class TicketEvent(models.Model):
    """An immutable line of a ticket's history, written in the same transaction as the change.

    A database trigger (migration 0002) refuses UPDATE and DELETE, so the trail cannot be
    rewritten from the application or the admin.
    """

    # ticket and actor: indexed by tickets_event_history and tickets_event_actor, which start with them.
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="events", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="tickets_event_history"),
            # A line's pace (takes per hour) for the estimated wait: only takes are indexed, so
            # the other events (two thirds and more) cost no entry here.
            models.Index(fields=["created_at"], name="tickets_event_takes", condition=models.Q(kind=EventKind.ASSIGN)),
            # "Tickets this agent worked on" for the agent's visibility scope.
            models.Index(fields=["actor", "ticket"], name="tickets_event_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id}"


class EventOutbox(models.Model):
    """Events someone may have to be told about, written in the transaction that makes them.

    A transactional outbox: the row commits or rolls back with the change, and
    `notifications.tasks.drain_outbox` (run by Celery beat) turns each into e-mails and
    deletes it. No message broker call happens inside a request, and an event is never lost
    when the broker is down at the moment of the change.

    An event the drain fails to handle stays, with its attempts and last error, and is tried
    again later (each wait twice the one before); after OUTBOX_MAX_ATTEMPTS it is parked:
    left alone until someone retries it from the admin. `/healthz` counts the parked ones.
    """

    # No foreign-key constraint in the database: the row is written with its event, in the same
    # transaction, and events are never deleted. The constraint's check (a row lock on the new
    # event, at commit) cost take-next about a tenth of its throughput under load.
    event = models.OneToOneField(
        TicketEvent,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(_("at"), db_default=Now())
    # Database defaults: the take-next statement writes its outbox rows in SQL, naming only the event.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, db_default=0)
    last_error = models.TextField(_("last error"), blank=True, default="", db_default="")
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    parked_at = models.DateTimeField(_("parked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event waiting to be dispatched")
        verbose_name_plural = _("events waiting to be dispatched")
        indexes = [
            # The parked count of /healthz reads only the parked rows.
            models.Index(
                fields=["parked_at"], name="tickets_outbox_parked", condition=models.Q(parked_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.event_id}"


class LineStint(models.Model):
    """A period a ticket spent in one line: how long each line held it."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="stints")
    line = models.ForeignKey("queues.Line", verbose_name=_("line"), on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(_("entered at"))
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("time in a line")
        verbose_name_plural = _("time in lines")
        ordering = ["entered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=models.Q(left_at__isnull=True), name="tickets_one_open_stint"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} in {self.line_id} from {self.entered_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return (self.left_at or timezone.now()) - self.entered_at


class Attachment(models.Model):
    """A file on a ticket. Stored under MEDIA_ROOT with a random name, never served directly."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class TicketSecret(models.Model):
    """Server access data for a ticket, encrypted at rest; the row is deleted when the ticket closes."""

    ticket = models.OneToOneField(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="secret")
    ciphertext = models.BinaryField(_("encrypted access data"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("stored by"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("stored at"), default=timezone.now)

    class Meta:
        verbose_name = _("access data")
        verbose_name_plural = _("access data")

    def __str__(self) -> str:
        return f"access data of #{self.ticket_id}"


class PhoneCall(models.Model):
    """A call an agent logged on the customer's behalf, as a new ticket or on an existing one."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="calls")
    message = models.OneToOneField(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, null=True, blank=True, related_name="call"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    duration = models.DurationField(_("duration"))
    created_at = models.DateTimeField(_("logged at"), default=timezone.now)

    class Meta:
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"call on #{self.ticket_id} ({self.duration})"


class ReplyTemplate(models.Model):
    """A canned answer of a line; placeholders are filled in when an agent uses it."""

    line = models.ForeignKey(
        "queues.Line", verbose_name=_("line"), on_delete=models.CASCADE, related_name="reply_templates"
    )
    code = models.SlugField(_("code"), max_length=60)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Placeholders: {customer_name}, {ticket_number}, {agent_name}."))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["line", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["line", "code", "language"], name="tickets_template_unique"),
        ]

    def __str__(self) -> str:
        return self.title


# --- tickets that belong together, tags and the workspace's saved views ------------------------


class Tag(models.Model):
    """A label agents put on tickets (lower case, no spaces), filtered on in the lists."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketTag(models.Model):
    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="+", db_index=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket tag")
        verbose_name_plural = _("ticket tags")
        constraints = [models.UniqueConstraint(fields=["tag", "ticket"], name="tickets_tag_unique")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.tag_id}"


class TicketLink(models.Model):
    """Two related tickets (the lower id first, so a pair is stored once)."""

    first = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Ticket, verbose_name=_("related ticket"), on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("linked at"), default=timezone.now)

    class Meta:
        verbose_name = _("related tickets")
        verbose_name_plural = _("related tickets")
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="tickets_link_unique"),
            models.CheckConstraint(condition=models.Q(first__lt=models.F("second")), name="tickets_link_ordered"),
        ]

    def __str__(self) -> str:
        return f"#{self.first_id} ~ #{self.second_id}"


class SavedView(models.Model):
    """A named list of the workspace: filters (validated JSON, tickets.views_saved) and an order.

    Private to `created_by` when `line` is empty, otherwise shared with the line's members."""

    name = models.CharField(_("name"), max_length=80)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.CASCADE, related_name="saved_views"
    )
    line = models.ForeignKey(
        "queues.Line",
        verbose_name=_("shared with the line"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    sort = models.CharField(_("order"), max_length=20, blank=True, default="")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "name"], condition=models.Q(line__isnull=True), name="tickets_view_private_name"
            ),
            models.UniqueConstraint(
                fields=["line", "name"], condition=models.Q(line__isnull=False), name="tickets_view_shared_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """A ticket filed under a key its sender chose, so that sending the same request again files
    nothing twice (tickets.idempotency): the API's `Idempotency-Key` header, the token of the
    panel's new-ticket form. Written in the filing's transaction, with the answer the API gave;
    kept for IDEMPOTENCY_KEY_HOURS."""

    class Scope(models.TextChoices):
        API = "api", _("API: Idempotency-Key")
        PANEL_FORM = "panel_form", _("Control panel: the new-ticket form")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sent by"), on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(_("where"), max_length=20, choices=Scope.choices)
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request digest"), max_length=64, blank=True, default="")
    # Empty only inside the filing's transaction: the key is written first, so that a second
    # request with it waits for the first to commit and then finds its ticket.
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status_code = models.PositiveSmallIntegerField(_("answer's status"), default=201)
    response = models.JSONField(_("answer"), null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="tickets_idempotency_key_once"),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="tickets_idem_user_created")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
