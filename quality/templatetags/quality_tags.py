"""The quality desk's pieces in other apps' pages: the rating control under an agent's reply."""

from django import template

from quality import policy, selectors

register = template.Library()


def _base(context) -> dict:
    """The page's outermost context dict: what is kept there lasts for the whole page."""
    return context.dicts[0]


def _ratings(context, user) -> dict:
    """The thread's ratings this reader may see, read once per page."""
    base = _base(context)
    if "_quality_ratings" not in base:
        thread = list(context.get("thread") or [])
        base["_quality_ratings"] = selectors.ratings_for_thread(user=user, messages=thread) if thread else {}
    return base["_quality_ratings"]


@register.inclusion_tag("quality/_reply_rating.html", takes_context=True)
def reply_rating(context, message):
    """Customers: like or dislike the staff's replies on their own ticket. Staff: the customer's
    rating of the reply, for its agent and for reviewers and management."""
    request = context.get("request")
    user = getattr(request, "user", None)
    shown = {"message": message, "mode": None, "rating": None, "csrf_token": context.get("csrf_token")}
    if user is None or not user.is_authenticated or not selectors.is_rateable(message):
        return shown
    rating = _ratings(context, user).get(message.id)
    if user.is_customer:
        if message.ticket.customer_id == user.id:
            shown |= {"mode": "rate", "rating": rating}
    elif rating is not None and (policy.sees_all(user) or rating.agent_id == user.id):
        shown |= {"mode": "show", "rating": rating}
    if shown["mode"]:
        base = _base(context)
        # The stylesheet once per page, with the first control.
        shown["first"] = not base.get("_quality_css")
        base["_quality_css"] = True
    return shown
