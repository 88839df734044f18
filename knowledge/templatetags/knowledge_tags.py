"""Template helpers of the help centre: its addresses in the current place (public, panel,
workspace), the ticket form's deflection panel and the workspace's panel beside a ticket."""

from django import template
from django.urls import reverse

from knowledge import selectors
from knowledge.help_views import attempt_token, reader_language

register = template.Library()


@register.simple_tag(takes_context=True)
def help_url(context, name: str, item=None) -> str:
    """The address of a help-centre page where the reader is: `help_url "article" article`,
    `help_url "category" category`, `help_url "search"`, `help_url "home"`."""
    prefix = context.get("help_prefix", "help")
    if name == "home":
        return reverse(prefix)
    if name == "article":
        return reverse(f"{prefix}-article", args=[item.category.slug, item.slug])
    if name == "feedback":
        return reverse(f"{prefix}-feedback", args=[item.category.slug, item.slug])
    if name == "category":
        return reverse(f"{prefix}-category", args=[item.slug])
    return reverse(f"{prefix}-{name}")


@register.filter
def in_language(item, language: str):
    """A category's name or an article's title in the reader's language."""
    if hasattr(item, "title_en"):
        return item.title(language)
    return item.name(language)


@register.filter
def description_in(category, language: str) -> str:
    return category.description(language)


@register.filter
def percent(share) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


@register.inclusion_tag("knowledge/deflect/_panel.html", takes_context=True)
def deflection_panel(context):
    """The ticket form's guided questions and suggested articles (a new attempt per visit)."""
    request = context["request"]
    return {"attempt": attempt_token(request.user), "request": request}


@register.inclusion_tag("knowledge/desk/_ticket_panel.html", takes_context=True)
def desk_help_panel(context, ticket):
    """Beside a ticket in the workspace: search the help centre, insert a link, mark the answer."""
    return {
        "ticket": ticket,
        "uses": selectors.article_uses(ticket=ticket),
        "language": reader_language(),
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
    }
