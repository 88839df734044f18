"""Service levels: business calendars, targets per plan and urgency, and what the sweep recorded."""

from __future__ import annotations

import datetime as dt
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from sla.calendar import Calendar


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("Unknown time zone “%(value)s”."), params={"value": value})


class BusinessCalendar(models.Model):
    """Working hours of a line: a time zone, weekly intervals (several a day), holidays."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", validators=[validate_time_zone]
    )
    always_open = models.BooleanField(_("24/7"), default=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def as_calendar(self) -> Calendar:
        if self.always_open:
            return Calendar.twenty_four_seven(self.time_zone)
        weekly: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for interval in self.intervals.order_by("weekday", "starts_at"):
            weekly.setdefault(interval.weekday, []).append((interval.starts_at, interval.ends_at))
        holidays = frozenset(self.holidays.values_list("date", flat=True))
        return Calendar(time_zone=self.time_zone, weekly=weekly, holidays=holidays)


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingInterval(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"), help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        verbose_name = _("working interval")
        verbose_name_plural = _("working intervals")
        ordering = ["weekday", "starts_at"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"

    def clean(self):
        if self.ends_at != dt.time(0) and self.ends_at <= self.starts_at:
            raise ValidationError(_("An interval must end after it starts."))


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="sla_holiday_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class LimitedServicePeriod(models.Model):
    """A provider-wide period of limited service: answers may take longer (e.g. 72 hours),
    while critical problems keep their own short target (e.g. 10 minutes)."""

    name = models.CharField(_("name"), max_length=100)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    response_minutes = models.PositiveIntegerField(_("answer within (minutes)"), default=72 * 60)
    critical_minutes = models.PositiveIntegerField(_("critical problems answered within (minutes)"), default=10)

    class Meta:
        verbose_name = _("limited-service period")
        verbose_name_plural = _("limited-service periods")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.ends_at <= self.starts_at:
            raise ValidationError(_("The period must end after it starts."))


class SlaTarget(models.Model):
    """Commitments of a plan for one urgency, in business minutes of the line's calendar.
    A row without a plan applies to customers whose plan has none."""

    plan = models.ForeignKey(
        "accounts.Plan",
        verbose_name=_("plan"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_targets",
    )
    urgency = models.CharField(_("urgency"), max_length=8)
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    next_response_minutes = models.PositiveIntegerField(_("next response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"))

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ["plan", "urgency"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "urgency"], name="sla_target_unique"),
            models.UniqueConstraint(
                fields=["urgency"], condition=models.Q(plan__isnull=True), name="sla_target_default_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan or _('default')} / {self.urgency}"


class SlaPolicy(models.Model):
    """How the sweep warns, escalates and closes (one row, edited in the admin)."""

    class Escalation(models.TextChoices):
        BOOST = "boost", _("Raise the ticket in the queue")
        NOTIFY = "notify", _("Notify the line's lead")
        TRANSFER = "transfer", _("Transfer to the next level")

    warn_at_share = models.FloatField(
        _("warn at this share of the target"),
        default=0.8,
        # A bare "%" here is no format: without this flag xgettext marks the entry python-format
        # and msgfmt rejects any translation of it.
        # Translators: xgettext:no-python-format
        help_text=_("0.8 warns when 80% of the time is used."),
    )
    escalation = models.CharField(_("on a breach"), max_length=8, choices=Escalation.choices, default=Escalation.BOOST)
    escalation_boost_minutes = models.PositiveIntegerField(
        _("queue head start added on a breach (minutes)"), default=60
    )
    first_line_escalation_minutes = models.PositiveIntegerField(
        _("pass an unanswered first-line ticket on after (business minutes)"), default=60
    )
    autoclose_resolved_days = models.PositiveIntegerField(_("close a resolved ticket after (days)"), default=3)
    remind_waiting_days = models.PositiveIntegerField(_("remind a silent customer after (days)"), default=3)
    resolve_waiting_days = models.PositiveIntegerField(_("resolve a silent customer's ticket after (days)"), default=7)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policy")

    def __str__(self) -> str:
        return str(_("SLA policy"))

    @classmethod
    def current(cls) -> SlaPolicy:
        policy = cls.objects.order_by("id").first()
        return policy if policy is not None else cls.objects.create()


class SlaRecord(models.Model):
    """Something the sweep did, exactly once per ticket, kind, target and deadline."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")
        ESCALATION = "escalation", _("Escalation")
        REMINDER = "reminder", _("Reminder")
        AUTO_RESOLVE = "auto_resolve", _("Resolved for silence")
        AUTO_CLOSE = "auto_close", _("Closed unconfirmed")

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")
        INACTIVITY = "inactivity", _("Inactivity")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="sla_records")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    due_at = models.DateTimeField(_("deadline"))
    line = models.ForeignKey("queues.Line", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("SLA record")
        verbose_name_plural = _("SLA records")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "target", "due_at"], name="sla_record_once"),
        ]
        indexes = [models.Index(fields=["kind", "created_at"], name="sla_record_kind_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_target_display()} #{self.ticket_id}"


class Component(models.TextChoices):
    DISK = "disk", _("Disk")
    MEMORY = "memory", _("Memory")
    POWER = "power", _("Power supply")
    CPU = "cpu", _("Processor or motherboard")
    NETWORK = "network", _("Network card")
    OTHER = "other", _("Other")


class HardwareWindow(models.Model):
    """How long a hardware replacement may take, by component class and plan (24-72 hours)."""

    plan = models.ForeignKey(
        "accounts.Plan", verbose_name=_("plan"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    component = models.CharField(_("component"), max_length=8, choices=Component.choices)
    hours = models.PositiveIntegerField(_("replaced within (hours)"))

    class Meta:
        verbose_name = _("hardware replacement window")
        verbose_name_plural = _("hardware replacement windows")
        ordering = ["component", "plan"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "component"], name="sla_hardware_window_unique"),
            models.UniqueConstraint(
                fields=["component"], condition=models.Q(plan__isnull=True), name="sla_hardware_window_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_component_display()}: {self.hours} h"
