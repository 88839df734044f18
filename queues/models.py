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
