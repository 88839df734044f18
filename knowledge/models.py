"""What the public help centre keeps: its articles (guides and FAQ entries in categories tied to
the ticket categories, English and Russian, with their revisions), the feedback and views on
them, the ticket form's guided questions and what they deflected, and the contact form's spent
anti-bot tokens."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Category

# The languages an article is written in, and the PostgreSQL text-search configuration of each.
LANGUAGES = ("en", "ru")
SEARCH_CONFIGS = {"en": "english", "ru": "russian"}
# Category slugs that would hide a page of the help centre (its URLs are /help/<category>/...).
RESERVED_SLUGS = frozenset(
    {"contact", "follow", "search", "deflect", "articles", "feedback", "ticket-search", "ticket", "api"}
)


def validate_not_reserved(slug: str) -> None:
    if slug in RESERVED_SLUGS:
        raise ValidationError(_("This address is taken by a page of the help centre."))


def other_language(language: str) -> str:
    return "ru" if language == "en" else "en"


class HelpCategory(models.Model):
    """A section of the help centre (DNS, mail, billing, ...), tied to the ticket category whose
    requests its articles answer: the ticket form suggests them first for that category."""

    slug = models.SlugField(_("address"), max_length=60, unique=True, validators=[validate_not_reserved])
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_ru = models.CharField(_("name (Russian)"), max_length=120)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    description_ru = models.CharField(_("description (Russian)"), max_length=300, blank=True)
    ticket_category = models.CharField(
        _("ticket category"), max_length=16, choices=Category.choices, default=Category.GENERAL
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("help centre category")
        verbose_name_plural = _("help centre categories")

    def __str__(self) -> str:
        return self.name_en

    def name(self, language: str) -> str:
        return (self.name_ru if language == "ru" else self.name_en) or self.name_en

    def description(self, language: str) -> str:
        return self.description_ru if language == "ru" else self.description_en


def _search_vector(language: str):
    config = SEARCH_CONFIGS[language]
    # The title weighs A and the text B: ranking puts a word in the title above the same word in the text.
    return SearchVector(f"title_{language}", weight="A", config=config) + SearchVector(
        f"plain_{language}", weight="B", config=config
    )


class Article(models.Model):
    """A guide or an FAQ entry, in English and Russian (either may be empty while not written).

    `plain_*` is the text without Markdown (filled by knowledge.services), which the search
    vectors and the highlighted snippets read; the vectors are generated columns, so PostgreSQL
    keeps them in step with every write, bulk ones included."""

    class Kind(models.TextChoices):
        GUIDE = "guide", _("Guide")
        FAQ = "faq", _("FAQ entry")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Everyone")
        INTERNAL = "internal", _("Support staff only")

    slug = models.SlugField(_("address"), max_length=120, unique=True)
    category = models.ForeignKey(
        HelpCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="articles"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.GUIDE)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    visibility = models.CharField(_("visible to"), max_length=12, choices=Visibility.choices, default=Visibility.PUBLIC)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("text (English)"), blank=True, help_text=_("Markdown."))
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    body_ru = models.TextField(_("text (Russian)"), blank=True, help_text=_("Markdown."))
    plain_en = models.TextField(editable=False, blank=True)
    plain_ru = models.TextField(editable=False, blank=True)
    search_en = models.GeneratedField(
        expression=_search_vector("en"), output_field=SearchVectorField(), db_persist=True, editable=False
    )
    search_ru = models.GeneratedField(
        expression=_search_vector("ru"), output_field=SearchVectorField(), db_persist=True, editable=False
    )
    # The titles alone: small enough to rank every match by, where the whole texts' vectors
    # would have to be read back from TOAST for each (knowledge.search.candidates).
    title_search_en = models.GeneratedField(
        expression=SearchVector("title_en", weight="A", config=SEARCH_CONFIGS["en"]),
        output_field=SearchVectorField(),
        db_persist=True,
        editable=False,
    )
    title_search_ru = models.GeneratedField(
        expression=SearchVector("title_ru", weight="A", config=SEARCH_CONFIGS["ru"]),
        output_field=SearchVectorField(),
        db_persist=True,
        editable=False,
    )
    position = models.PositiveSmallIntegerField(_("position in its category"), default=100)
    view_count = models.PositiveIntegerField(_("views"), default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["category__position", "position", "slug"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            GinIndex(fields=["search_en"], name="knowledge_article_search_en"),
            GinIndex(fields=["search_ru"], name="knowledge_article_search_ru"),
            GinIndex(fields=["title_search_en"], name="knowledge_article_title_en"),
            GinIndex(fields=["title_search_ru"], name="knowledge_article_title_ru"),
            models.Index(fields=["status", "visibility", "category"], name="knowledge_article_shown"),
        ]

    def __str__(self) -> str:
        return self.title_en or self.title_ru or self.slug

    def has_language(self, language: str) -> bool:
        return bool(getattr(self, f"title_{language}"))

    def shown_language(self, language: str) -> str:
        """The language the article is shown in to a reader of `language`: theirs when written."""
        return language if self.has_language(language) else other_language(language)

    def title(self, language: str) -> str:
        return getattr(self, f"title_{self.shown_language(language)}")

    def body(self, language: str) -> str:
        return getattr(self, f"body_{self.shown_language(language)}")


# The fields a revision keeps, and a restore puts back.
REVISION_FIELDS = (
    "slug", "category_id", "kind", "status", "visibility", "title_en", "body_en", "title_ru", "body_ru", "position",
)  # fmt: skip


class ArticleRevision(models.Model):
    """One saved state of an article, who saved it and which fields changed: the article's audit trail."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        EDITED = "edited", _("edited")
        RESTORED = "restored", _("restored an earlier revision")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("revision"))
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("saved at"), default=timezone.now)
    changed = ArrayField(models.CharField(max_length=40), verbose_name=_("changed fields"), default=list)
    restored_from = models.PositiveIntegerField(_("restored from revision"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    data = models.JSONField(_("content"))

    class Meta:
        ordering = ["article", "-number"]
        verbose_name = _("article revision")
        verbose_name_plural = _("article revisions")
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="knowledge_revision_number")]

    def __str__(self) -> str:
        return f"{self.article_id}#{self.number}"


class ArticleViewDay(models.Model):
    """Views of an article on one day, counted once per reader and day, bots left out."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="view_days")
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), default=0)

    class Meta:
        verbose_name = _("article views on a day")
        verbose_name_plural = _("article views by day")
        constraints = [models.UniqueConstraint(fields=["article", "day"], name="knowledge_view_day")]

    def __str__(self) -> str:
        return f"{self.article_id} {self.day}: {self.views}"


class ArticleFeedback(models.Model):
    """ "Was this helpful?": one answer per reader and article (a second one replaces the first)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    language = models.CharField(_("language"), max_length=8)
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    # Who answered, as a digest of the account or the browser session: one vote each.
    reader = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")
        constraints = [models.UniqueConstraint(fields=["article", "reader"], name="knowledge_feedback_reader")]

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


class SearchMiss(models.Model):
    """A search of the help centre that found nothing, counted per query text and language."""

    query = models.CharField(_("query"), max_length=200)
    language = models.CharField(_("language"), max_length=8)
    count = models.PositiveIntegerField(_("times"), default=0)
    first_at = models.DateTimeField(_("first searched"), default=timezone.now)
    last_at = models.DateTimeField(_("last searched"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-count", "-last_at"]
        verbose_name = _("search that found nothing")
        verbose_name_plural = _("searches that found nothing")
        constraints = [models.UniqueConstraint(fields=["query", "language"], name="knowledge_search_miss")]

    def __str__(self) -> str:
        return self.query


class SearchIndexState(models.Model):
    """One row: a random number drawn anew by every write to articles, so each process knows when
    to rebuild its vocabulary of the help centre's words (knowledge.vocabulary). Random rather
    than counted, so a rolled-back write and a later one never share a number."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.version)


class GuideStep(models.Model):
    """A node of the ticket form's decision tree for one ticket category.

    A root (no parent) asks the first question; its children are the answers offered, each of
    which may ask a further question (its own children) or end the path with the articles it
    names and the words it adds to the search for suggestions."""

    ticket_category = models.CharField(_("ticket category"), max_length=16, choices=Category.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("after"), on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    answer_en = models.CharField(_("answer that leads here (English)"), max_length=200, blank=True)
    answer_ru = models.CharField(_("answer that leads here (Russian)"), max_length=200, blank=True)
    question_en = models.CharField(_("question asked here (English)"), max_length=300, blank=True)
    question_ru = models.CharField(_("question asked here (Russian)"), max_length=300, blank=True)
    search_words = models.CharField(
        _("search words"), max_length=200, blank=True, help_text=_("Added to the subject when suggesting articles.")
    )
    articles = models.ManyToManyField(Article, verbose_name=_("articles to suggest"), blank=True, related_name="+")
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["ticket_category", "position", "id"]
        verbose_name = _("guided question")
        verbose_name_plural = _("guided questions")

    def __str__(self) -> str:
        return self.question_en or self.answer_en or f"{self.ticket_category} #{self.pk}"

    def question(self, language: str) -> str:
        return (self.question_ru if language == "ru" else self.question_en) or self.question_en

    def answer(self, language: str) -> str:
        return (self.answer_ru if language == "ru" else self.answer_en) or self.answer_en


class DeflectionEvent(models.Model):
    """What happened to the suggestions of one visit to the ticket form (an attempt): an article
    shown, opened, or marked as solving the problem (so no ticket was filed)."""

    class Kind(models.TextChoices):
        SHOWN = "shown", _("shown")
        OPENED = "opened", _("opened")
        SOLVED = "solved", _("solved the problem")

    attempt = models.UUIDField(_("attempt"), default=uuid.uuid4)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    ticket_category = models.CharField(_("ticket category"), max_length=16, choices=Category.choices, blank=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflection_events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("deflection event")
        verbose_name_plural = _("deflection events")
        constraints = [
            models.UniqueConstraint(fields=["attempt", "kind", "article"], name="knowledge_deflection_once"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt} {self.kind} {self.article_id}"


class ArticleUse(models.Model):
    """A ticket answered by an article, as an agent marked it: the typical questions worth automating."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="uses")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ticket answered by an article")
        verbose_name_plural = _("tickets answered by articles")
        constraints = [models.UniqueConstraint(fields=["ticket", "article"], name="knowledge_article_use")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.article_id}"


class SpentFormToken(models.Model):
    """A contact-form token that has served one submission; the same token is refused after that.

    In PostgreSQL, not in the Redis cache: that Redis is run without persistence and is shared
    with the cache (which may be cleared) and the Celery broker, so a restart would let every
    token of the last day be replayed. Rows older than a token can live are deleted as new ones
    come (knowledge.services.spend_form_token)."""

    nonce = models.CharField(_("token"), max_length=64, primary_key=True)
    spent_at = models.DateTimeField(_("used at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("used contact-form token")
        verbose_name_plural = _("used contact-form tokens")

    def __str__(self) -> str:
        return self.nonce
