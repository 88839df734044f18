"""Agent shift schedules: weekly shifts per agent and line, with exceptions.

The queue's wait estimate asks who will be on duty from now on, the dashboards and the
staffing forecast weigh demand against the agent-hours rostered; both read these rows
through `shifts.selectors` and compute with `shifts.policy`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from sla.models import Weekday, validate_time_zone


def default_time_zone() -> str:
    return settings.TIME_ZONE


class Shift(models.Model):
    """One agent on one line on one weekday, every week, from a local time to a local time.

    A shift that ends at or before it starts runs past midnight (22:00-06:00 ends on the next
    day); a shift that starts and ends at the same time lasts 24 hours.
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="shifts"
    )
    line = models.ForeignKey("queues.Line", verbose_name=_("line"), on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"), help_text=_("At or before the start: the shift ends on the next day."))
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=default_time_zone, validators=[validate_time_zone]
    )
    valid_from = models.DateField(_("from date"), null=True, blank=True, help_text=_("Empty: since always."))
    valid_until = models.DateField(
        _("until date"), null=True, blank=True, help_text=_("The last day a shift of this row starts; empty: no end.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["line", "weekday", "starts_at", "agent"]
        indexes = [models.Index(fields=["line", "weekday"], name="shifts_line_weekday")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="shifts_shift_dates_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} @ {self.line}: {self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The last day must not come before the first.")})


class ShiftException(models.Model):
    """A change to the weekly pattern for a span of time: an absence or an extra shift."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        VACATION = "vacation", _("Vacation")
        SICK = "sick", _("Sick leave")
        ABSENCE = "absence", _("Other absence")
        EXTRA = "extra", _("Extra shift")

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="shift_exceptions",
    )
    line = models.ForeignKey(
        "queues.Line",
        verbose_name=_("line"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="shift_exceptions",
        help_text=_("Empty: every line of the agent (absences only)."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shift exception")
        verbose_name_plural = _("shift exceptions")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["agent", "ends_at"], name="shifts_exception_agent_end")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shifts_exception_order"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="extra") | models.Q(line__isnull=False), name="shifts_extra_has_a_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.agent} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_absence(self) -> bool:
        return self.kind != self.Kind.EXTRA


class RosterEvent(models.Model):
    """The audit trail of the schedules: who added, changed or removed which shift or exception."""

    class Action(models.TextChoices):
        SHIFT_ADDED = "shift_added", _("Shift added")
        SHIFT_CHANGED = "shift_changed", _("Shift changed")
        SHIFT_REMOVED = "shift_removed", _("Shift removed")
        EXCEPTION_ADDED = "exception_added", _("Exception added")
        EXCEPTION_REMOVED = "exception_removed", _("Exception removed")

    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="roster_events"
    )
    data = models.JSONField(_("details"), default=dict)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("roster change")
        verbose_name_plural = _("roster changes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.agent}"


def shift_data(shift: Shift) -> dict:
    """What a roster event keeps of a shift, in machine values."""
    return {
        "shift": shift.pk,
        "line": shift.line.code,
        "weekday": shift.weekday,
        "starts_at": shift.starts_at.strftime("%H:%M"),
        "ends_at": shift.ends_at.strftime("%H:%M"),
        "time_zone": shift.time_zone,
        "valid_from": shift.valid_from.isoformat() if shift.valid_from else None,
        "valid_until": shift.valid_until.isoformat() if shift.valid_until else None,
    }


def exception_data(exception: ShiftException) -> dict:
    return {
        "exception": exception.pk,
        "kind": exception.kind,
        "line": exception.line.code if exception.line_id else None,
        "starts_at": exception.starts_at.astimezone(dt.UTC).isoformat(),
        "ends_at": exception.ends_at.astimezone(dt.UTC).isoformat(),
    }
