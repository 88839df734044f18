from django import template

from mailin import selectors

register = template.Library()


@register.inclusion_tag("mailin/_ticket_mail.html", takes_context=True)
def ticket_mail(context, ticket):
    """On a ticket's page in the workspace: the e-mails it came by (the sender's Date beside the
    arrival, authentication, damaged text, access data moved), our e-mails that bounced, and
    whether the customer's address is still mailed."""
    request = context.get("request")
    return {
        "mail": selectors.ticket_mail(ticket=ticket),
        "csrf_token": context.get("csrf_token"),
        "path": getattr(request, "path", ""),
    }


@register.inclusion_tag("mailin/_desk_alert.html", takes_context=True)
def desk_mail_alert(context):
    """On the workspace's start page: how many e-mails were kept without a ticket."""
    request = context.get("request")
    user = getattr(request, "user", None)
    count = selectors.kept_without_ticket(user=user).count() if user is not None else 0
    return {"count": count}
