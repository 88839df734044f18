"""Help-centre rows for tests, written through the services as the product writes them."""

from knowledge import services
from knowledge.models import Article, HelpCategory
from tickets.models import Category


def help_category(slug: str = "hosting", *, ticket_category: str = Category.TECH_SIMPLE, **fields) -> HelpCategory:
    defaults = {"name_en": slug.title(), "name_ru": slug.title(), "ticket_category": ticket_category}
    category, _created = HelpCategory.objects.get_or_create(slug=slug, defaults={**defaults, **fields})
    return category


def article(
    slug: str,
    *,
    category: HelpCategory | None = None,
    status: str = Article.Status.PUBLISHED,
    visibility: str = Article.Visibility.PUBLIC,
    **texts,
) -> Article:
    """An article; `texts` are title_en/body_en/title_ru/body_ru (a title without a text gets one)."""
    for language in ("en", "ru"):
        if texts.get(f"title_{language}") and not texts.get(f"body_{language}"):
            texts[f"body_{language}"] = texts[f"title_{language}"] + "."
    return services.article_create(
        author=None,
        category=category or help_category(),
        slug=slug,
        status=status,
        visibility=visibility,
        **texts,
    )
