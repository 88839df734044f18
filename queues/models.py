"""Support lines (tiers) and departments, and who works in them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.models import Category, Urgency


class Line(models.Model):
    """A team with its own queue: a tier of technical support or a department.

    Tiers have a level (1 = first line); a ticket not solved at its level goes to the
    line named by `next_line`. Departments (finance, sales) have no level.
    """

    class Kind(models.TextChoices):
        TIER = "tier", _("Support tier")
        DEPARTMENT = "department", _("Department")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_ru = models.CharField(_("name in Russian"), max_length=100, blank=True)
    # The workspace's lists show a line by a short label ("L1", "Fin"); empty: made from the name.
    short_name = models.CharField(_("short label"), max_length=12, blank=True, db_default="", default="")
    short_name_ru = models.CharField(_("short label in Russian"), max_length=12, blank=True, db_default="", default="")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("level"), null=True, blank=True)
    next_line = models.ForeignKey(
        "self",
        verbose_name=_("next line"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="previous_lines",
    )
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        verbose_name=_("working hours"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        help_text=_("Empty: 24/7 in the helpdesk's time zone."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="LineMembership", related_name="lines", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="department", level__isnull=True) | models.Q(kind="tier", level__isnull=False),
                name="queues_line_level_only_for_tiers",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def localized_name(self, language: str | None) -> str:
        """The name customers and agents read, in their language."""
        if language == "ru" and self.name_ru:
            return self.name_ru
        return self.name

    def short_label(self, language: str | None) -> str:
        """A few characters for dense lists: the short label set for the line, else the level of a
        tier ("L2") or the first word of a department's name."""
        if language == "ru" and self.short_name_ru:
            return self.short_name_ru
        if self.short_name:
            return self.short_name
        if self.level:
            return f"L{self.level}"
        return self.localized_name(language).split()[0][:12]


class LineMembership(models.Model):
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("line"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="line_memberships", verbose_name=_("agent")
    )
    is_lead = models.BooleanField(_("team lead"), default=False)
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    class Meta:
        verbose_name = _("line membership")
        verbose_name_plural = _("line memberships")
        constraints = [models.UniqueConstraint(fields=["line", "user"], name="queues_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.line}"


class RoutingRule(models.Model):
    """Which line receives a new ticket of a category (and, optionally, an urgency).

    The most specific rule wins: one with the urgency beats one for any urgency.
    """

    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    urgency = models.CharField(
        _("urgency"), max_length=8, choices=Urgency.choices, blank=True, help_text=_("Empty: any urgency.")
    )
    line = models.ForeignKey(Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="routing_rules")

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["category", "urgency"]
        constraints = [models.UniqueConstraint(fields=["category", "urgency"], name="queues_routing_unique")]

    def __str__(self) -> str:
        return f"{self.category}/{self.urgency or '*'} → {self.line}"


class QueuePolicy(models.Model):
    """How the weighted queue turns a customer's value into a head start, in minutes.

    One row (the admin edits it). A ticket's credit is the sum of the parts below, kept
    between 0 and `max_credit_minutes`; agents take tickets in ascending
    `queued_at - credit`, so a ticket can only be overtaken by tickets queued at most
    `max_credit_minutes` after it: the starvation bound a manager reads.
    """

    max_credit_minutes = models.PositiveIntegerField(
        _("starvation bound (minutes)"),
        default=240,
        help_text=_("No ticket is ever overtaken by one queued more than this many minutes after it."),
    )
    minutes_per_year_of_tenure = models.PositiveIntegerField(_("minutes per year as a customer"), default=6)
    max_tenure_years = models.PositiveIntegerField(_("tenure counted up to (years)"), default=10)
    minutes_per_spend_decade = models.PositiveIntegerField(
        _("minutes per tenfold 12-month spend"), default=20, help_text=_("Counted from 1,000 of the currency.")
    )
    minutes_per_frequency_step = models.PositiveIntegerField(
        _("minutes per halving of requests against the plan's average"),
        default=10,
        help_text=_("Customers who ask less than others on their plan move up; those who ask more move down."),
    )
    vip_minutes = models.PositiveIntegerField(_("VIP bonus (minutes)"), default=60)
    problematic_minutes = models.PositiveIntegerField(_("problematic penalty (minutes)"), default=60)
    minutes_per_plan_level = models.PositiveIntegerField(_("minutes per support level"), default=20)
    high_urgency_minutes = models.PositiveIntegerField(_("high urgency (minutes)"), default=30)
    critical_urgency_minutes = models.PositiveIntegerField(_("critical urgency (minutes)"), default=120)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("queue policy")
        verbose_name_plural = _("queue policy")

    def __str__(self) -> str:
        return str(_("Queue policy"))

    @classmethod
    def current(cls) -> "QueuePolicy":
        policy = cls.objects.order_by("id").first()
        return policy if policy is not None else cls.objects.create()


class BoostKind(models.TextChoices):
    FRONT = "front", _("To the front")
    BEHIND_FIRST = "behind_first", _("Right behind the first")


class BoostPrice(models.Model):
    """What a boost costs; per support plan, with a row without a plan as the default."""

    plan = models.ForeignKey(
        "accounts.Plan", verbose_name=_("plan"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=BoostKind.choices)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="RUB")

    class Meta:
        verbose_name = _("boost price")
        verbose_name_plural = _("boost prices")
        constraints = [
            models.UniqueConstraint(fields=["plan", "kind"], name="queues_boostprice_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(plan__isnull=True), name="queues_boostprice_default_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.price} {self.currency}"


class BalanceEntry(models.Model):
    """The customer's balance as an append-only ledger: charges are negative, credits positive.

    `reference` makes a charge idempotent (one boost click, one entry) and links it to the
    provider's billing (see queues.billing).
    """

    class Kind(models.TextChoices):
        CREDIT = "credit", _("Credit")
        CHARGE = "charge", _("Charge")

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="balance_entries"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    description = models.CharField(_("description"), max_length=200)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("balance entry")
        verbose_name_plural = _("balance entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="queues_balance_customer")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="credit", amount__gt=0) | models.Q(kind="charge", amount__lt=0),
                name="queues_balance_sign_matches_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} {self.description}"


class Boost(models.Model):
    """A paid move up the queue; bought once per idempotency key."""

    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="boosts"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=BoostKind.choices)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    credit_minutes = models.PositiveIntegerField(_("head start bought (minutes)"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    ledger_entry = models.OneToOneField(
        BalanceEntry, verbose_name=_("charge"), on_delete=models.PROTECT, related_name="boost"
    )
    created_at = models.DateTimeField(_("bought at"), auto_now_add=True)

    class Meta:
        verbose_name = _("boost")
        verbose_name_plural = _("boosts")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id}"
