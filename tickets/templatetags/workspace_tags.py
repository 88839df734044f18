"""What the workspace's dense list shows in each cell: names, short labels, a filled SLA badge."""

from django import template
from django.utils.html import format_html
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _

from sla.display import nearest_deadline
from tickets import selectors
from tickets.models import Message, Status, Urgency
from tickets.templatetags.tickets_tags import sla_badge

register = template.Library()


@register.filter
def person(user) -> str:
    """A person by name: the agent's display name, the customer's full name, the login last."""
    if user is None:
        return "—"
    return user.display_name


@register.filter
def line_short(line) -> str:
    """The line's short label, with its full name on hover."""
    language = get_language()
    return format_html(
        '<span class="ws-line" title="{}">{}</span>', line.localized_name(language), line.short_label(language)
    )


@register.filter
def sla_cell(ticket) -> str:
    """The SLA badge, never empty: the time left or overdue, else why there is no clock."""
    if nearest_deadline(ticket) is not None:
        return sla_badge(ticket)
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        state, text, title = "done", _("done"), _("Solved: no deadline runs.")
    elif ticket.status == Status.WAITING_CUSTOMER:
        state, text, title = "paused", _("paused"), _("Waiting for the customer: the clock is stopped.")
    else:
        state, text, title = "none", _("no target"), _("No service level applies to this ticket.")
    return format_html('<span class="badge sla-{}" title="{}" data-testid="sla-badge">{}</span>', state, title, text)


@register.inclusion_tag("tickets/_together.html", takes_context=True)
def ticket_together(context, ticket, can_work=False):
    """The ticket's tags, related and merged tickets, and the forms to merge, link, split and tag."""
    user = context["request"].user
    merged_into = None
    if ticket.merged_into_id is not None:
        merged_into = selectors.tickets_visible_to(user).filter(pk=ticket.merged_into_id).first()
    splittable = []
    if can_work:
        splittable = [m for m in context.get("thread", []) if m.kind != Message.Kind.SYSTEM]
    return {
        "ticket": ticket,
        "can_work": can_work,
        "tags": list(ticket.tags.order_by("name")),
        "related": selectors.ticket_related(ticket=ticket, user=user),
        "merged_into": merged_into,
        "splittable": splittable,
        "csrf_token": context.get("csrf_token"),
    }


URGENCY_SHORT = {
    Urgency.NORMAL: pgettext_lazy("urgency, short", "Normal"),
    Urgency.HIGH: pgettext_lazy("urgency, short", "High"),
    Urgency.CRITICAL: pgettext_lazy("urgency, short", "Critical"),
}


@register.filter
def urgency_short(value: str) -> str:
    """An urgency in a word, for the list's narrow column (the full label is its title)."""
    return str(URGENCY_SHORT.get(value, value))
