from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from sla.display import commitment_text, nearest_deadline
from tickets.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    """Markdown rendered and sanitised with the allow-list of tickets.markdown."""
    return render_markdown(text)


@register.filter
def filesize(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


@register.filter
def duration_short(delta) -> str:
    """A timedelta as "2 d 3 h", "3 h 5 min" or "12 min"."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.filter
def sla_badge(ticket) -> str:
    """Time left to the nearest deadline (or how long it is overdue), coloured by state."""
    deadline = nearest_deadline(ticket)
    if deadline is None:
        return ""
    minutes = abs(deadline.seconds_left) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    amount = f"{days} d {hours} h" if days else (f"{hours} h {mins} min" if hours else f"{mins} min")
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
def sla_commitment(ticket) -> str:
    return commitment_text(ticket)
