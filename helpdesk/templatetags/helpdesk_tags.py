from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def localized(obj) -> str:
    """The name of a line (or anything with `localized_name`) in the current language."""
    return obj.localized_name(get_language())
