"""The report pages' tables: one shape for the page, the CSV export and the API.

Each table is built from a selector's figures; a column has a kind that says how the page
writes it in the reader's locale (a share as a percentage, minutes as minutes or hours, a
date by the locale's format), while the CSV keeps plain values (ISO dates, decimal points).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts.models import Plan
from queues.models import Line
from tickets.models import Category, Channel


@dataclass
class Column:
    key: str
    title: str
    kind: str = "int"  # text | int | float | pct | min | hours | date | month | money | line | ticket


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)

    def plain(self, row: dict, column: Column):
        value = row.get(column.key)
        if value is None:
            return ""
        if isinstance(value, Line):
            return value.code
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float):
            return "inf" if math.isinf(value) else round(value, 4)
        return value

    def as_json(self) -> list[dict]:
        out = []
        for row in self.rows:
            item = {}
            for column in self.columns:
                value = self.plain(row, column)
                item[column.key] = None if value == "" else value
            out.append(item)
        return out


def csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{table.name}.csv"'
    writer = csv.writer(response)
    writer.writerow([str(column.title) for column in table.columns])
    for row in table.rows:
        writer.writerow([table.plain(row, column) for column in table.columns])
    return response


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def series_table(series: dict) -> Table:
    kind = {"day": "date", "week": "date", "month": "month"}[series["unit"]]
    return Table(
        "series",
        _("Breaches, warnings and backlog over time"),
        [
            Column("period", _("Period"), kind),
            Column("fr_breaches", _("First response breaches")),
            Column("nr_breaches", _("Next response breaches")),
            Column("res_breaches", _("Resolution breaches")),
            Column("fr_warnings", _("First response warnings")),
            Column("nr_warnings", _("Next response warnings")),
            Column("res_warnings", _("Resolution warnings")),
            Column("opened", _("Opened")),
            Column("closed_out", _("Resolved or closed")),
            Column("backlog", _("Open at the end")),
        ],
        series["rows"],
    )


def targets_table(summary: dict) -> Table:
    names = {"first_response": _("First response"), "next_response": _("Next response"), "resolution": _("Resolution")}
    rows = [{"target": names[key], **value} for key, value in summary["targets"].items()]
    return Table(
        "targets",
        _("Targets met"),
        [
            Column("target", _("Target"), "text"),
            Column("met", _("Met")),
            Column("breached", _("Breached")),
            Column("share_met", _("Met (%)"), "pct"),
        ],
        rows,
    )


def breaching_table(name: str, title, items: list[dict]) -> Table:
    rows = [
        {"ticket": item["ticket"].number, "subject": item["ticket"].subject, "line": item["ticket"].line,
         "target": item["target"], "due": item["due"]}
        for item in items
    ]  # fmt: skip
    return Table(
        name,
        title,
        [
            Column("ticket", _("Ticket"), "ticket"),
            Column("subject", _("Subject"), "text"),
            Column("line", _("Line"), "line"),
            Column("target", _("Target"), "target"),
            Column("due", _("Due"), "datetime"),
        ],
        rows,
    )


def line_clocks_table(rows: list[dict]) -> Table:
    return Table(
        "line_clocks",
        _("Time in each line"),
        [
            Column("line", _("Line"), "line"),
            Column("tickets", _("Tickets")),
            Column("hours", _("Hours held"), "float"),
            Column("breached_tickets", _("Tickets that breached")),
            Column("breached_hours", _("Hours on tickets that breached"), "float"),
            Column("share_of_breached_time", _("Share of the breached time"), "pct"),
        ],
        rows,
    )


def monthly_table(rows: list[dict]) -> Table:
    return Table(
        "monthly",
        _("Requests and first response by month"),
        [
            Column("month", _("Month"), "month"),
            Column("created", _("Requests")),
            Column("first_response_mean_minutes", _("Mean first response"), "min"),
            Column("first_response_median_minutes", _("Median first response"), "min"),
            Column("resolved", _("Resolved")),
        ],
        rows,
    )


def dimension_table(name: str, title, rows: list[dict], dimension: str) -> Table:
    choices = {"channel": Channel, "category": Category}[dimension]
    labelled = [{**row, "label": _label(choices, row["value"])} for row in rows]
    columns = [
        Column("label", _("Channel") if dimension == "channel" else _("Category"), "text"),
        Column("value", _("Code"), "text"),
        Column("created", _("Requests")),
        Column("share", _("Share"), "pct"),
    ]
    if dimension == "category":
        columns += [
            Column("solved_first_level", _("Solved at the first level")),
            Column("automatable", _("Could be automated")),
        ]
    return Table(name, title, columns, labelled)


def flows_table(rows: list[dict]) -> Table:
    return Table(
        "transfers",
        _("Transfers between lines"),
        [
            Column("from_line", _("From"), "line"),
            Column("to_line", _("To"), "line"),
            Column("transfers", _("Transfers")),
        ],
        rows,
    )


def heatmap_table(heatmap: dict, weekdays: list[str]) -> Table:
    columns = [Column("weekday", _("Weekday"), "text")] + [Column(f"h{h}", f"{h:02d}", "heat") for h in range(24)]
    rows = []
    for index, counts in enumerate(heatmap["grid"]):
        row = {"weekday": weekdays[index]}
        row.update({f"h{h}": count for h, count in enumerate(counts)})
        rows.append(row)
    return Table("heatmap", _("Requests by weekday and hour"), columns, rows)


def fairness_table(data: dict, class_labels: dict[str, str]) -> Table:
    columns = [
        Column("line", _("Line"), "line"),
        Column("takes", _("Takes")),
        Column("max_overtaken_minutes", _("Longest overtaken (min)"), "float"),
        Column("bound_minutes", _("Bound (min)")),
        Column("within_bound", _("Within the bound"), "bool"),
        Column("boosts", _("Boosts sold")),
        Column("boost_revenue", _("Boost revenue"), "money"),
    ] + [Column(f"oldest_{name}", _("Oldest waiting: %(class)s (min)") % {"class": label}, "float")
         for name, label in class_labels.items()]  # fmt: skip
    rows = []
    for row in data["rows"]:
        item = {**row, "bound_minutes": data["bound_minutes"]}
        for name in class_labels:
            oldest = row["oldest"].get(name)
            item[f"oldest_{name}"] = oldest["minutes"] if oldest else None
        rows.append(item)
    return Table("fairness", _("Queue fairness by line"), columns, rows)


def forecast_table(data: dict, weekdays: list[str]) -> Table:
    columns = [
        Column("line", _("Line"), "line"),
        Column("weekday", _("Weekday"), "text"),
        Column("hour", _("Hour")),
        Column("arrivals", _("Arrivals per hour"), "float"),
        Column("handling_minutes", _("Mean handling (min)"), "float"),
        Column("needed", _("Agents answering")),
        Column("scheduled", _("Agents to schedule")),
        Column("on_duty", _("Agents on duty"), "float"),
    ]
    rows = []
    for line in data["lines"]:
        for weekday, cells in enumerate(line["cells"]):
            for hour, cell in enumerate(cells):
                rows.append({"line": line["line"], "weekday": weekdays[weekday], "hour": hour,
                             "handling_minutes": line["handling_minutes"], **cell})  # fmt: skip
    return Table("forecast", _("Staffing forecast"), columns, rows)


def plan_label(plan_id: int | None) -> str:
    if plan_id is None:
        return ""
    plan = Plan.objects.filter(id=plan_id).first()
    return plan.name if plan else ""
