"""The precomputed figures of the manager's reports: small daily rows summed for any period.

Every row is keyed by the local day (the helpdesk's TIME_ZONE) a thing happened (`day`) and
the local day its ticket was filed (`created_day`, the cohort), and by the ticket's
dimensions the pages filter on. Figures about a ticket as a whole (its first response time,
whether it met its targets) are counted on its filing day (`day == created_day`); figures of
moments (breaches, reopenings, takes, transfers) on the day they happened. A day's rows are
rebuilt from the tickets filed that day (`reports.cube`), so refreshing one filing day
replaces every row it contributed to, whichever `day` they carry.

`agent` is empty on the rows that count every ticket; a second copy of the figures, in
`AgentDailyStats`, counts only the tickets whose final assignee is that agent: the agent filter
reads those, the unfiltered pages the much fewer rows of `DailyStats`. The monthly tables hold
the same rows summed by local month (`day` and `created_day` the first day of their months):
a period reads its whole months there and only the days at its edges from the daily rows.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from reports import buckets


def empty_hours() -> list[int]:
    return [0] * 24


class Dimensions(models.Model):
    day = models.DateField(_("day"))
    created_day = models.DateField(_("filed on"))
    line = models.ForeignKey("queues.Line", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    plan = models.ForeignKey(
        "accounts.Plan", on_delete=models.CASCADE, null=True, related_name="+", db_constraint=False
    )
    urgency = models.CharField(_("urgency"), max_length=8)
    channel = models.CharField(_("channel"), max_length=8)
    category = models.CharField(_("category"), max_length=16)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+", db_constraint=False
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} line {self.line_id} (filed {self.created_day})"


# A monthly row's key: a filing day's changes are added to the rows with this key.
MONTH_KEY = ["day", "created_day", "line", "plan", "urgency", "channel", "category", "agent"]


class StatsMeasures(models.Model):
    """Counts, sums and histograms of one key; see docs/reports.md for each figure's definition."""

    # Counted on the filing day (day == created_day).
    created = models.IntegerField(default=0)
    created_by_hour = ArrayField(models.IntegerField(), size=24, default=empty_hours)
    first_responses = models.IntegerField(default=0)
    first_response_seconds = models.BigIntegerField(default=0)
    first_response_hist = ArrayField(models.IntegerField(), size=buckets.SIZE, default=buckets.empty)
    fr_met = models.IntegerField(default=0)
    fr_breached = models.IntegerField(default=0)
    nr_met = models.IntegerField(default=0)
    nr_breached = models.IntegerField(default=0)
    res_met = models.IntegerField(default=0)
    res_breached = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    resolution_seconds = models.BigIntegerField(default=0)
    resolution_hist = ArrayField(models.IntegerField(), size=buckets.SIZE, default=buckets.empty)
    level_known = models.IntegerField(default=0)
    solved_first_level = models.IntegerField(default=0)
    handled = models.IntegerField(default=0)
    handling_seconds = models.BigIntegerField(default=0)
    transferred = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    automatable = models.IntegerField(default=0)
    # Counted on the day they happened.
    fr_breaches = models.IntegerField(default=0)
    nr_breaches = models.IntegerField(default=0)
    res_breaches = models.IntegerField(default=0)
    fr_warnings = models.IntegerField(default=0)
    nr_warnings = models.IntegerField(default=0)
    res_warnings = models.IntegerField(default=0)
    opened = models.IntegerField(default=0)
    closed_out = models.IntegerField(default=0)
    takes = models.IntegerField(default=0)

    class Meta:
        abstract = True


class DailyStats(Dimensions, StatsMeasures):
    """The figures of every ticket (`agent` empty); the per-agent copies are in AgentDailyStats."""

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        indexes = [
            models.Index(fields=["created_day"], name="reports_stats_cohort"),
            models.Index(
                fields=["created_day"], name="reports_stats_cohort_all", condition=models.Q(agent__isnull=True)
            ),
            models.Index(fields=["day"], name="reports_stats_day", condition=models.Q(agent__isnull=True)),
        ]


class AgentDailyStats(Dimensions, StatsMeasures):
    """The same figures counting only the tickets whose final assignee is `agent` (the agent
    filter): a table of their own, so the pages without that filter never read past them."""

    class Meta:
        verbose_name = _("daily figures per agent")
        verbose_name_plural = _("daily figures per agent")
        indexes = [
            models.Index(fields=["created_day"], name="reports_agentstats_cohort"),
            models.Index(fields=["agent", "created_day"], name="reports_agentstats_agent_coh"),
            models.Index(fields=["agent", "day"], name="reports_agentstats_agent_day"),
        ]


class MonthlyStats(Dimensions, StatsMeasures):
    """DailyStats summed by month: `day` and `created_day` are the first days of their local
    months. Rebuilt from the daily rows of a filing month whenever one of its days is
    (`reports.cube.roll_up`), so a whole month here is exactly the sum of its days there."""

    class Meta:
        verbose_name = _("monthly figures")
        verbose_name_plural = _("monthly figures")
        constraints = [models.UniqueConstraint(fields=MONTH_KEY, name="reports_monthly_key", nulls_distinct=False)]
        indexes = [
            models.Index(fields=["created_day"], name="reports_monthly_cohort"),
            models.Index(fields=["day"], name="reports_monthly_day"),
        ]


class AgentMonthlyStats(Dimensions, StatsMeasures):
    """AgentDailyStats summed by month, as MonthlyStats is DailyStats."""

    class Meta:
        verbose_name = _("monthly figures per agent")
        verbose_name_plural = _("monthly figures per agent")
        constraints = [models.UniqueConstraint(fields=MONTH_KEY, name="reports_agentmonthly_key", nulls_distinct=False)]
        indexes = [
            models.Index(fields=["created_day"], name="reports_agentmonth_cohort"),
            models.Index(fields=["agent", "created_day"], name="reports_agentmonth_agent_coh"),
            models.Index(fields=["agent", "day"], name="reports_agentmonth_agent_day"),
        ]


class DailyFlow(Dimensions):
    """Transfers between lines on a day: `line` is where the tickets came from."""

    to_line = models.ForeignKey("queues.Line", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    transfers = models.IntegerField(default=0)
    by_hour = ArrayField(models.IntegerField(), size=24, default=empty_hours)

    class Meta:
        verbose_name = _("daily transfers")
        verbose_name_plural = _("daily transfers")
        indexes = [
            models.Index(fields=["created_day"], name="reports_flow_cohort"),
            models.Index(fields=["day"], name="reports_flow_day"),
        ]


class LineTimeMeasures(models.Model):
    tickets = models.IntegerField(default=0)
    seconds = models.BigIntegerField(default=0)
    breached_tickets = models.IntegerField(default=0)
    breached_seconds = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyLineTime(Dimensions, LineTimeMeasures):
    """How long each line held the tickets filed on a day (`line` is the line that held them),
    and how much of that was on tickets that breached a target. Counted on the filing day."""

    class Meta:
        verbose_name = _("daily time in lines")
        verbose_name_plural = _("daily time in lines")
        indexes = [models.Index(fields=["created_day"], name="reports_linetime_cohort")]


class MonthlyLineTime(Dimensions, LineTimeMeasures):
    """DailyLineTime summed by filing month (its rows with and without an agent alike)."""

    class Meta:
        verbose_name = _("monthly time in lines")
        verbose_name_plural = _("monthly time in lines")
        constraints = [
            models.UniqueConstraint(fields=MONTH_KEY, name="reports_monthlylinetime_key", nulls_distinct=False)
        ]
        indexes = [models.Index(fields=["created_day"], name="reports_monthly_linetime")]


class DailyFairness(models.Model):
    """Per line and day: the takes, and the longest any waiting ticket was overtaken by a take."""

    day = models.DateField(_("day"))
    line = models.ForeignKey("queues.Line", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    takes = models.IntegerField(default=0)
    max_overtaken_seconds = models.IntegerField(default=0)
    overtaken_ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, related_name="+", db_constraint=False
    )

    class Meta:
        verbose_name = _("daily queue fairness")
        verbose_name_plural = _("daily queue fairness")
        constraints = [models.UniqueConstraint(fields=["day", "line"], name="reports_fairness_once")]

    def __str__(self) -> str:
        return f"{self.day} line {self.line_id}"


class RefreshState(models.Model):
    """Where the refresh stopped: the newest event, SLA record and ticket it has seen.

    Events and SLA records are only ever added, with growing ids, so anything newer than
    these marks is what changed since; the refresh recomputes the days it touched.
    """

    last_event_id = models.BigIntegerField(default=0)
    last_record_id = models.BigIntegerField(default=0)
    last_ticket_id = models.BigIntegerField(default=0)
    local_day = models.DateField(null=True)
    refreshed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("report refresh state")
        verbose_name_plural = _("report refresh state")

    def __str__(self) -> str:
        return f"events {self.last_event_id}, records {self.last_record_id}, tickets {self.last_ticket_id}"
