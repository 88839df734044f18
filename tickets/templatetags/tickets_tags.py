from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from queues.policy import WEIGHT_PART_LABELS
from sla.display import clock_note, commitment_text, nearest_deadline
from tickets import history
from tickets.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    """Markdown rendered and sanitised with the allow-list of tickets.markdown."""
    return render_markdown(text)


@register.filter
def filesize(size: int) -> str:
    if size < 1024:
        return _("%(size)d B") % {"size": size}
    size /= 1024
    if size < 1024:
        return _("%(size)s KB") % {"size": number_format(size, 1)}
    size /= 1024
    if size < 1024:
        return _("%(size)s MB") % {"size": number_format(size, 1)}
    return _("%(size)s GB") % {"size": number_format(size / 1024, 1)}


def short_minutes(minutes: int) -> str:
    """A span of minutes as "2 d 3 h", "3 h 5 min" or "12 min", in the active language."""
    days, minutes = divmod(int(minutes), 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def duration_short(delta) -> str:
    """A timedelta as "2 d 3 h", "3 h 5 min" or "12 min"."""
    return short_minutes(delta.total_seconds() // 60)


@register.filter
def sla_badge(ticket) -> str:
    """Time left to the nearest deadline (or how long it is overdue), coloured by state."""
    deadline = nearest_deadline(ticket)
    if deadline is None:
        return ""
    amount = short_minutes(abs(deadline.seconds_left) // 60)
    if deadline.state == "overdue":
        text = _("overdue %(time)s") % {"time": amount}
    else:
        text = _("%(time)s left") % {"time": amount}
    return format_html(
        '<span class="badge sla-{}" title="{}" data-testid="sla-badge">{}</span>',
        deadline.state,
        deadline.due.isoformat(),
        text,
    )


@register.filter
def weight_label(name: str) -> str:
    """What a part of a customer's queue weight stands for, in words."""
    return str(WEIGHT_PART_LABELS.get(name, name))


@register.filter
def sla_commitment(ticket) -> str:
    return commitment_text(ticket)


@register.filter
def sla_clock(ticket) -> str:
    """When the nearest deadline falls, in the reader's zone, and whether only working hours count."""
    return clock_note(ticket)


@register.filter
def history_change(event) -> str:
    """'old → new' of a history event, values by their labels in the current language."""
    return history.change_text(event)


@register.filter
def history_reason(event) -> str:
    """A history event's reason: the helpdesk's own in the current language, an agent's as typed."""
    return history.reason_text(event)
