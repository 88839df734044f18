"""People: the custom user with its role, organisations, customer and agent profiles."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts import signals as account_signals


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    MANAGER = "manager", _("Manager")
    QUALITY = "quality", _("Quality reviewer")
    ADMIN = "admin", _("Administrator")


# Roles that work inside the helpdesk (everyone except customers).
STAFF_ROLES = frozenset({Role.AGENT, Role.MANAGER, Role.QUALITY, Role.ADMIN})
# Roles that see the manager area.
MANAGEMENT_ROLES = frozenset({Role.MANAGER, Role.QUALITY, Role.ADMIN})


class Organisation(models.Model):
    """A company that is a customer; several users may file tickets on its behalf."""

    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.CUSTOMER, db_index=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    # Empty until the user chooses one or their browser's is detected on the first visit
    # (helpdesk/static/helpdesk/app.js); helpdesk.middleware.TimeZoneMiddleware activates it.
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_("Dates and times are shown and entered in this zone, e.g. Europe/Moscow."),
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="accounts_user_email_unique_ci"
            ),
        ]

    def save(self, *args, **kwargs):
        # set_password() leaves the raw password in _password until the save; a hash upgrade at
        # login clears it first, so only a real change of a saved account counts.
        password_changed = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if password_changed:
            account_signals.password_changed.send(sender=type(self), user=self)

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def is_support_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_management(self) -> bool:
        return self.role in MANAGEMENT_ROLES

    @property
    def display_name(self) -> str:
        profile = getattr(self, "agent_profile", None)
        if profile is not None and profile.display_name:
            return profile.display_name
        return self.get_full_name() or self.username


class Plan(models.Model):
    """What a customer has bought from support: a support level or an administration package.

    The SLA engine attaches its targets to these; here they carry what the demo and the
    customer weight need: the level and the price.
    """

    class Kind(models.TextChoices):
        SUPPORT_LEVEL = "support_level", _("Support level")
        ADMIN_PACKAGE = "admin_package", _("Administration package")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("level"), default=0, help_text=_("Higher is better served."))
    monthly_price = models.DecimalField(_("monthly price"), max_digits=10, decimal_places=2, default=Decimal(0))
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    tasks_per_month = models.PositiveSmallIntegerField(_("tasks per month"), null=True, blank=True)
    extra_task_price = models.DecimalField(
        _("price of an extra task"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    response_hours = models.PositiveSmallIntegerField(_("answer within (hours)"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["kind", "level"]

    def __str__(self) -> str:
        return self.name


class CustomerProfile(models.Model):
    """What the provider knows about a customer: tenure, spend, habits and flags."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_profile", verbose_name=_("user")
    )
    customer_since = models.DateField(_("customer since"))
    lifetime_spend = models.DecimalField(_("lifetime spend"), max_digits=12, decimal_places=2, default=Decimal(0))
    spend_12m = models.DecimalField(_("spend, last 12 months"), max_digits=12, decimal_places=2, default=Decimal(0))
    support_plan = models.ForeignKey(
        Plan,
        verbose_name=_("support plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Plan.Kind.SUPPORT_LEVEL},
    )
    admin_package = models.ForeignKey(
        Plan,
        verbose_name=_("administration package"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Plan.Kind.ADMIN_PACKAGE},
    )
    requests_total = models.PositiveIntegerField(_("requests, all time"), default=0)
    requests_12m = models.PositiveIntegerField(_("requests, last 12 months"), default=0)
    is_vip = models.BooleanField(_("VIP"), default=False)
    is_problematic = models.BooleanField(_("problematic"), default=False)
    can_see_organisation_tickets = models.BooleanField(_("sees the organisation's tickets"), default=False)

    class Meta:
        verbose_name = _("customer profile")
        verbose_name_plural = _("customer profiles")

    def __str__(self) -> str:
        return str(self.user)


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile", verbose_name=_("user")
    )
    display_name = models.CharField(
        _("display name"), max_length=100, help_text=_("The name customers see under answers.")
    )
    languages = ArrayField(models.CharField(max_length=8), verbose_name=_("languages"), default=list, blank=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return self.display_name


class ApiToken(models.Model):
    """A key for the API (`Authorization: Token …`), one per script or integration.

    Only a SHA-256 digest of the key is stored: the key is shown once, when it is made. Keys
    are 256 random bits, so the digest needs no salt or slow hash. A token lives until
    `expires_at`, until its owner revokes it, or until the owner's password changes.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the key, to tell tokens apart in lists; not enough to use it.
    prefix = models.CharField(_("key starts with"), max_length=8)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "expires_at"], name="accounts_apitoken_user_exp")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
