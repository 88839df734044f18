"""Services and their components, incidents with their public timeline, planned maintenance,
the customers' services and subscriptions, the tickets linked to incidents, and the tokens the
provider's monitoring uses."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Service(models.Model):
    """Something the provider sells and customers depend on: cloud servers, DNS, storage."""

    slug = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_ru = models.CharField(_("name in Russian"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name

    def localized_name(self, language: str | None) -> str:
        return self.name_ru if language == "ru" and self.name_ru else self.name


class Component(models.Model):
    """A part of a service that fails on its own, for example the service in one data centre."""

    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="components")
    slug = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_ru = models.CharField(_("name in Russian"), max_length=100, blank=True)
    aliases = models.CharField(
        _("other names"),
        max_length=500,
        blank=True,
        help_text=_(
            "Comma-separated words that name this component in a ticket (a data centre's code, a host name): "
            "a ticket that names one during an incident is linked to it."
        ),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("component")
        verbose_name_plural = _("components")
        ordering = ["service__position", "service__slug", "position", "slug"]

    def __str__(self) -> str:
        return f"{self.service.name}: {self.name}"

    def localized_name(self, language: str | None) -> str:
        return self.name_ru if language == "ru" and self.name_ru else self.name

    def label(self, language: str | None) -> str:
        """ "Cloud servers — Moscow (MSK-1)": how the ticket form offers it."""
        return f"{self.service.localized_name(language)} — {self.localized_name(language)}"


class CustomerComponent(models.Model):
    """A customer uses this component (a server in that data centre). Kept by the provider's
    billing or in the admin; the panel's banner and the ticket form read it."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    component = models.ForeignKey(
        Component, verbose_name=_("component"), on_delete=models.CASCADE, related_name="customers"
    )

    class Meta:
        verbose_name = _("customer's service")
        verbose_name_plural = _("customers' services")
        constraints = [models.UniqueConstraint(fields=["customer", "component"], name="status_customer_component")]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.component_id}"


class Severity(models.TextChoices):
    """How bad an incident is; the uptime counts a major outage whole and a partial one half."""

    DEGRADED = "degraded", _("Degraded performance")
    PARTIAL = "partial", _("Partial outage")
    MAJOR = "major", _("Major outage")


class IncidentState(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")


ACTIVE_STATES = (IncidentState.INVESTIGATING, IncidentState.IDENTIFIED, IncidentState.MONITORING)
# The states an update may give an incident that stays open (the API's and the forms' choices).
ACTIVE_STATE_CHOICES = [(state.value, state.label) for state in ACTIVE_STATES]


class ComponentState(models.TextChoices):
    """A component's state on the status page (not stored: read from incidents and maintenance)."""

    OPERATIONAL = "operational", _("Operational")
    MAINTENANCE = "maintenance", _("Under maintenance")
    DEGRADED = "degraded", _("Degraded performance")
    PARTIAL = "partial", _("Partial outage")
    MAJOR = "major", _("Major outage")


class ReplyState(models.TextChoices):
    """The resolution's pass over the incident's tickets (status.tasks.answer_linked_tickets)."""

    NONE = "", _("Not started")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class Incident(models.Model):
    title = models.CharField(_("title"), max_length=200)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, default=Severity.MAJOR)
    state = models.CharField(
        _("state"), max_length=16, choices=IncidentState.choices, default=IncidentState.INVESTIGATING
    )
    components = models.ManyToManyField(Component, verbose_name=_("affected components"), related_name="incidents")
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # "staff", or "monitoring:<token name>".
    source = models.CharField(_("source"), max_length=120, default="staff")
    # The monitoring's own id of the alert: sending it again finds the incident it opened.
    external_id = models.CharField(_("monitoring's id"), max_length=200, blank=True, default="")
    # The resolution's reply to every linked ticket, and how far it got.
    reply_body = models.TextField(_("reply to the linked tickets"), blank=True, default="")
    reply_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("replied by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reply_state = models.CharField(
        _("answering the tickets"), max_length=8, choices=ReplyState.choices, blank=True, default=ReplyState.NONE
    )
    reply_total = models.PositiveIntegerField(_("tickets to answer"), default=0)
    reply_done = models.PositiveIntegerField(_("tickets answered"), default=0)
    reply_started_at = models.DateTimeField(null=True, blank=True)
    reply_finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the pass after each batch; a stale one tells the resumer (status.tasks) to start it again.
    reply_heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["started_at"], name="status_incident_started"),
            models.Index(fields=["resolved_at"], name="status_incident_resolved"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="status_incident_external_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"INC-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class IncidentUpdate(models.Model):
    """One entry of an incident's public timeline."""

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="updates")
    state = models.CharField(_("state"), max_length=16, choices=IncidentState.choices)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("published at"), default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=120, default="staff")

    class Meta:
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["incident", "-created_at"], name="status_update_timeline")]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.state}"


class UpdateOutbox(models.Model):
    """An update whose subscribers have not been written to yet, written with the update.

    The incidents' own small outbox beside the tickets' (tickets.EventOutbox holds ticket events
    only): status.tasks.drain_update_outbox turns each into one SubscriberMail per subscriber."""

    update = models.OneToOneField(
        IncidentUpdate, verbose_name=_("update"), on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("update waiting to be mailed")
        verbose_name_plural = _("updates waiting to be mailed")

    def __str__(self) -> str:
        return f"update {self.update_id}"


class Maintenance(models.Model):
    """Planned work: its window is left out of the uptime, and the page announces it."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    components = models.ManyToManyField(Component, verbose_name=_("components"), related_name="maintenances")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("planned by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=120, default="staff")

    class Meta:
        verbose_name = _("maintenance")
        verbose_name_plural = _("maintenance windows")
        ordering = ["-starts_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="status_window")]

    def __str__(self) -> str:
        return self.title


class SubscriptionVia(models.TextChoices):
    BANNER = "banner", _("Panel banner")
    TICKET_FORM = "ticket_form", _("Ticket form, instead of filing")
    STATUS_PAGE = "status_page", _("Status page")


class Subscription(models.Model):
    """A customer hears of every update of an incident by e-mail. Made from the ticket form it
    stands for a ticket not filed: the deflections of an incident are counted from these."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="subscriptions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    via = models.CharField(_("subscribed from"), max_length=16, choices=SubscriptionVia.choices)
    # Subscribed from the ticket form instead of filing: a ticket the incident's page spared.
    deflected = models.BooleanField(_("instead of a ticket"), default=False)
    created_at = models.DateTimeField(_("subscribed at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [models.UniqueConstraint(fields=["incident", "user"], name="status_one_subscription")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.incident_id}"


class SubscriberMail(models.Model):
    """One e-mail of one update to one subscriber: written once (the unique pair), sent once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    update = models.ForeignKey(IncidentUpdate, verbose_name=_("update"), on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="mails"
    )
    email = models.EmailField(_("e-mail address"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("update e-mail")
        verbose_name_plural = _("update e-mails")
        constraints = [models.UniqueConstraint(fields=["update", "subscription"], name="status_mail_once")]

    def __str__(self) -> str:
        return f"{self.update_id} → {self.email}"


class LinkVia(models.TextChoices):
    AUTO = "auto", _("On filing")
    AGENT = "agent", _("By an agent")


class LinkOutcome(models.TextChoices):
    PENDING = "", _("Waiting for the resolution")
    REPLIED = "replied", _("Answered and resolved")
    RELEASED = "released", _("Back to the queue")
    SKIPPED = "skipped", _("Already solved")


class IncidentTicket(models.Model):
    """A ticket about an incident. `done_at` is set, in the same transaction as the ticket's reply
    or release, when the incident's resolution has dealt with it: a pass over the tickets that
    is killed and started again never answers one twice."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="ticket_links"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="incident_links"
    )
    via = models.CharField(_("linked"), max_length=8, choices=LinkVia.choices)
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=LinkOutcome.choices, blank=True, default="")
    done_at = models.DateTimeField(_("dealt with at"), null=True, blank=True)

    class Meta:
        verbose_name = _("linked ticket")
        verbose_name_plural = _("linked tickets")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "ticket"], name="status_link_once"),
            # A ticket waits for one incident at a time.
            models.UniqueConstraint(fields=["ticket"], condition=Q(done_at__isnull=True), name="status_one_open_link"),
        ]
        indexes = [
            models.Index(fields=["incident", "id"], condition=Q(done_at__isnull=True), name="status_link_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} ↔ {self.ticket_id}"


class TokenScope(models.TextChoices):
    INCIDENTS = "incidents", _("Incidents: open, update, resolve")
    MAINTENANCE = "maintenance", _("Maintenance: plan and cancel")


class MonitoringToken(models.Model):
    """A key of the provider's monitoring for the status API (`Authorization: Bearer …`).

    Not a user's accounts.ApiToken: it belongs to no person, opens only the endpoints of its
    scope, and is refused everywhere else. Stored as the SHA-256 digest of a 256-bit key, shown
    once (`manage.py status_token`)."""

    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=16, choices=TokenScope.choices)
    prefix = models.CharField(_("key starts with"), max_length=12)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("made by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, help_text=_("Empty: never."))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("monitoring token")
        verbose_name_plural = _("monitoring tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def source(self) -> str:
        return f"monitoring:{self.name}"
