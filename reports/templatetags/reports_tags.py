"""How the report tables write their cells in the reader's language and locale."""

from __future__ import annotations

import math

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from queues.models import Line
from sla.models import SlaRecord

register = template.Library()


def minutes_text(value) -> str:
    """12 min, 2.5 h, 3.1 d: durations people read at a glance."""
    if value is None:
        return "—"
    if math.isinf(value):
        return _("over 30 days")
    if value < 90:
        return _("%(n)s min") % {"n": number(value, 0 if value >= 10 else 1)}
    if value < 48 * 60:
        return _("%(n)s h") % {"n": number(value / 60, 1)}
    return _("%(n)s d") % {"n": number(value / 1440, 1)}


def number(value, places: int) -> str:
    """The number in the reader's locale, rounded (Django's formatting cuts the digits off)."""
    return formats.number_format(round(value, places), places, use_l10n=True, force_grouping=True)


@register.filter
def minutes(value) -> str:
    return minutes_text(value)


@register.filter
def percent(value) -> str:
    if value is None:
        return "—"
    return number(value * 100, 1) + "\u00a0%"


@register.filter
def line_name(line) -> str:
    if isinstance(line, Line):
        return line.localized_name(get_language())
    return "" if line is None else str(line)


@register.simple_tag
def cell(row: dict, column):
    value = row.get(column.key)
    kind = column.kind
    if value is None:
        return "—"
    if kind == "pct":
        return percent(value)
    if kind == "min":
        return minutes_text(value)
    if kind == "float":
        return number(value, 1)
    if kind == "int" or kind == "heat":
        return number(value, 0)
    if kind == "money":
        return number(value, 2)
    if kind == "date":
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if kind == "month":
        return formats.date_format(value, "YEAR_MONTH_FORMAT")
    if kind == "datetime":
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if kind == "line":
        return line_name(value)
    if kind == "bool":
        return _("yes") if value else _("no")
    if kind == "target":
        return str(SlaRecord.Target(value).label)
    if kind == "ticket":
        return format_html('<a href="{}">#{}</a>', reverse("desk-ticket", args=[value]), value)
    return value
