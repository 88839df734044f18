"""`{% live_updates "desk" %}`, `{% live_updates "desk-ticket" ticket %}`,
`{% live_updates "panel-ticket" ticket %}`: the live bar of a page and its script (chat.live)."""

from django import template
from django.urls import reverse

register = template.Library()

SOCKETS = {
    "desk": "/ws/live/desk/",
    "desk-ticket": "/ws/live/desk/tickets/{number}/",
    "panel-ticket": "/ws/live/panel/tickets/{number}/",
}


@register.inclusion_tag("chat/live_updates.html", takes_context=True)
def live_updates(context, page: str, ticket=None) -> dict:
    request = context.get("request")
    number = ticket.number if ticket is not None else None
    if page == "desk-ticket":
        url = reverse("desk-ticket", args=[number])
    elif page == "panel-ticket":
        url = reverse("panel-ticket", args=[number])
    else:
        url = request.get_full_path() if request is not None else ""
    return {
        "socket": SOCKETS[page].format(number=number),
        "page_url": url,
        "presence": page == "desk-ticket",
        "ticket": ticket,
    }
