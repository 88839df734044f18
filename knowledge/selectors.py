"""Reads of the help centre, scoped by who asks.

Anonymous visitors and customers see published public articles only; support staff also see
the internal ones. Drafts and archived articles are never shown outside the editing pages of
the workspace (`article_for_editing`), whoever asks: pages, the API, search, suggestions and
the answering engine all come through `visibilities_for`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, FloatField, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.models import STAFF_ROLES
from helpdesk.errors import NotFound, PermissionDenied
from knowledge import search
from knowledge.models import (
    Article,
    ArticleFeedback,
    ArticleRevision,
    ArticleUse,
    DeflectionEvent,
    GuideStep,
    HelpCategory,
    SearchMiss,
)
from tickets.models import Category

# Below this confidence the answering engine says it does not know (docs/knowledge.md).
ANSWER_THRESHOLD = 0.5


def is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.role in STAFF_ROLES)


def visibilities_for(user) -> list[str]:
    if is_staff(user):
        return [Article.Visibility.PUBLIC, Article.Visibility.INTERNAL]
    return [Article.Visibility.PUBLIC]


def visible_articles(user) -> QuerySet[Article]:
    return Article.objects.filter(status=Article.Status.PUBLISHED, visibility__in=visibilities_for(user))


def categories(*, user, language: str) -> list[HelpCategory]:
    """The categories with at least one article the reader may see, each with its articles."""
    shown = visible_articles(user).exclude(**{f"title_{language}": ""}).order_by("position", "slug")
    found = (
        HelpCategory.objects.filter(Exists(shown.filter(category=OuterRef("pk"))))
        .prefetch_related(Prefetch("articles", queryset=shown, to_attr="shown_articles"))
        .order_by("position", "slug")
    )
    return list(found)


def category_get(*, user, slug: str, language: str) -> HelpCategory:
    for category in categories(user=user, language=language):
        if category.slug == slug:
            return category
    raise NotFound("No such section of the help centre.")


def article_get(*, user, category_slug: str, slug: str) -> Article:
    article = visible_articles(user).select_related("category").filter(slug=slug).first()
    if article is None or article.category.slug != category_slug:
        raise NotFound("No such article.")
    return article


def article_get_by_slug(*, user, slug: str) -> Article:
    article = visible_articles(user).select_related("category").filter(slug=slug).first()
    if article is None:
        raise NotFound("No such article.")
    return article


def popular(*, user, language: str, limit: int = 8) -> list[Article]:
    return list(
        visible_articles(user)
        .exclude(**{f"title_{language}": ""})
        .select_related("category")
        .order_by("-view_count", "position", "slug")[:limit]
    )


@dataclass
class Hit:
    article: Article
    title: str
    snippet: SafeString | str
    score: float
    confidence: float = 0.0


@dataclass
class Results:
    query: str
    language: str
    hits: list[Hit] = field(default_factory=list)
    read_as: str = ""
    total: int = 0


def confidence(found: list[search.Candidate], index: int) -> float:
    """How sure the engine is that `found[index]` answers the question: its coverage of the
    question, lowered when another article scores about as well (the question may be about
    either)."""
    candidate = found[index]
    others = [c.score for i, c in enumerate(found) if i != index]
    margin = candidate.score - (max(others) if others else 0.0)
    return round(candidate.coverage * (0.8 + 0.2 * max(0.0, min(1.0, margin / 0.15))), 3)


# What a list of articles needs; the texts and search vectors stay in the database.
LIST_DEFERRED = search.LIST_DEFERRED


def search_articles(
    *,
    user,
    query: str,
    language: str,
    limit: int = 10,
    prefix: bool = False,
    snippets: bool = True,
    ticket_category: str = "",
    exclude: list[int] | None = None,
    relative_cutoff: float = 0.0,
    short_snippets: bool = False,
) -> Results:
    """The articles that answer `query`, best first, with highlighted snippets; `relative_cutoff`
    leaves out those scoring below that share of the best one (weak matches of a common word)."""
    analysis = search.analyse_best(query, language, prefix=prefix, staff=is_staff(user))
    # Two round trips in all: the question's words normalised (with the articles' version), then
    # one statement that finds, scores and reads the best articles with their snippets.
    top, total = search.ranked(
        analysis,
        visibilities=visibilities_for(user),
        limit=limit,
        favour_ticket_category=ticket_category,
        exclude=exclude,
        relative_cutoff=relative_cutoff,
        snippets=snippets,
        short_snippets=short_snippets,
    )
    results = Results(query=query, language=analysis.language, read_as=analysis.read_as, total=total)
    # The one past the limit is only there for the confidence of the first.
    found = [item.candidate for item in top]
    for index, item in enumerate(top[:limit]):
        results.hits.append(
            Hit(
                article=item.article,
                title=item.article.title(analysis.language),
                snippet=search.marked(item.snippet or "") if snippets else "",
                score=round(item.candidate.score, 3),
                confidence=confidence(found, index),
            )
        )
    return results


@dataclass
class Answer:
    question: str
    language: str
    confident: bool
    confidence: float
    hits: list[Hit]
    read_as: str = ""
    threshold: float = ANSWER_THRESHOLD


def answer(*, user, question: str, language: str, limit: int = 3) -> Answer:
    """The answering engine: the best articles for a question with a confidence each, and
    whether the best is good enough to answer with; below the threshold it does not know, and
    a bot hands the conversation over to a person."""
    threshold = settings.ANSWER_THRESHOLD
    results = search_articles(user=user, query=question, language=language, limit=limit, snippets=True)
    best = results.hits[0].confidence if results.hits else 0.0
    return Answer(
        question=question,
        language=results.language,
        confident=best >= threshold,
        confidence=best,
        hits=results.hits,
        read_as=results.read_as,
        threshold=threshold,
    )


def related(*, user, article: Article, language: str, limit: int = 5) -> list[Article]:
    """Articles on the same subject: found by the title, then the rest of its category."""
    title = article.title(language)
    results = search_articles(
        user=user, query=title, language=article.shown_language(language), limit=limit, snippets=False,
        exclude=[article.pk], relative_cutoff=0.5,
    )  # fmt: skip
    chosen = [hit.article for hit in results.hits if hit.score >= 0.25]
    if len(chosen) < limit:
        more = (
            visible_articles(user)
            .filter(category=article.category)
            .exclude(pk__in=[article.pk, *[a.pk for a in chosen]])
            .select_related("category")
            .order_by("position", "slug")
        )
        chosen += list(more[: limit - len(chosen)])
    return chosen


# --- the workspace: editing, feedback, what is missing --------------------------------------


def _require_staff(user) -> None:
    if not is_staff(user):
        raise PermissionDenied("Only support staff may do this.")


def articles_for_editing(*, user, query: str = "", status: str = "") -> QuerySet[Article]:
    _require_staff(user)
    articles = Article.objects.select_related("category", "updated_by").order_by("category__position", "position")
    if status:
        articles = articles.filter(status=status)
    if query:
        articles = articles.filter(
            Q(title_en__icontains=query) | Q(title_ru__icontains=query) | Q(slug__icontains=query)
        )
    return articles


def article_for_editing(*, user, pk: int) -> Article:
    _require_staff(user)
    article = Article.objects.select_related("category").filter(pk=pk).first()
    if article is None:
        raise NotFound("No such article.")
    return article


def revisions(*, user, article: Article) -> list[ArticleRevision]:
    _require_staff(user)
    return list(article.revisions.select_related("author").order_by("-number"))


@dataclass
class ArticleStanding:
    article: Article
    views: int
    helpful: int
    unhelpful: int
    comments: list[ArticleFeedback]

    @property
    def answers(self) -> int:
        return self.helpful + self.unhelpful

    @property
    def satisfaction(self) -> float | None:
        """The share of readers who found it helpful, None before anyone answered."""
        return self.helpful / self.answers if self.answers else None


def feedback_report(*, user, limit: int = 100, comments: int = 5) -> list[ArticleStanding]:
    """Articles with answers, the least helpful first (then the most read), with their latest comments."""
    _require_staff(user)
    rows = (
        Article.objects.annotate(
            helpful=Count("feedback", filter=Q(feedback__helpful=True)),
            unhelpful=Count("feedback", filter=Q(feedback__helpful=False)),
        )
        .filter(Q(helpful__gt=0) | Q(unhelpful__gt=0))
        .annotate(
            share=Cast("helpful", FloatField()) / (Cast("helpful", FloatField()) + Cast("unhelpful", FloatField()))
        )
        .select_related("category")
        .order_by("share", "-unhelpful", "-view_count")[:limit]
    )
    rows = list(rows)
    latest: dict[int, list[ArticleFeedback]] = {}
    for item in ArticleFeedback.objects.filter(article__in=rows).exclude(comment="").order_by("-updated_at"):
        bucket = latest.setdefault(item.article_id, [])
        if len(bucket) < comments:
            bucket.append(item)
    return [
        ArticleStanding(
            article=row,
            views=row.view_count,
            helpful=row.helpful,
            unhelpful=row.unhelpful,
            comments=latest.get(row.pk, []),
        )  # fmt: skip
        for row in rows
    ]


def article_standing(*, article: Article) -> ArticleStanding:
    """Views and satisfaction of one article (shown to its editors)."""
    counts = article.feedback.aggregate(
        helpful=Count("id", filter=Q(helpful=True)), unhelpful=Count("id", filter=Q(helpful=False))
    )
    return ArticleStanding(
        article=article, views=article.view_count, helpful=counts["helpful"], unhelpful=counts["unhelpful"],
        comments=list(article.feedback.exclude(comment="").order_by("-updated_at")[:20]),
    )  # fmt: skip


def search_misses(*, user, limit: int = 50) -> list[SearchMiss]:
    _require_staff(user)
    return list(SearchMiss.objects.order_by("-count", "-last_at")[:limit])


def article_uses(*, ticket) -> list[ArticleUse]:
    return list(ArticleUse.objects.filter(ticket=ticket).select_related("article__category", "agent"))


def typical_questions(*, since: dt.datetime | None = None, limit: int = 20) -> list[tuple[Article, int]]:
    """The articles tickets were most often answered with: the questions worth automating."""
    uses = ArticleUse.objects.all()
    if since is not None:
        uses = uses.filter(created_at__gte=since)
    counts = uses.values("article").annotate(n=Count("id")).order_by("-n")[:limit]
    articles = Article.objects.select_related("category").in_bulk([row["article"] for row in counts])
    return [(articles[row["article"]], row["n"]) for row in counts if row["article"] in articles]


# --- deflection: guided questions, suggestions, and the rate -------------------------------


def guide_root(*, ticket_category: str) -> GuideStep | None:
    return (
        GuideStep.objects.filter(ticket_category=ticket_category, parent__isnull=True)
        .prefetch_related("children")
        .order_by("position", "id")
        .first()
    )


def guide_step(*, pk: int) -> GuideStep:
    step = GuideStep.objects.prefetch_related("children").filter(pk=pk).first()
    if step is None:
        raise NotFound("No such step.")
    return step


def suggestions(
    *, user, subject: str, ticket_category: str, language: str, step: GuideStep | None = None, limit: int = 3
) -> list[Hit]:
    """The articles the ticket form suggests: those the guided answer names first, then the best
    matches for the subject (and the answer's search words), favouring the category's sections."""
    hits: list[Hit] = []
    if step is not None:
        for article in visible_articles(user).filter(pk__in=step.articles.values("pk")).select_related("category"):
            hits.append(Hit(article=article, title=article.title(language), snippet="", score=1.0, confidence=1.0))
    # The subject says more than the step's search words; those stand in while there is no
    # subject yet, and only when the step names fewer articles than are shown.
    query = subject.strip() or (step.search_words if step is not None and len(hits) < limit else "")
    if query:
        found = search_articles(
            user=user,
            query=query,
            language=language,
            limit=limit,
            prefix=True,
            ticket_category=ticket_category if ticket_category in Category.values else "",
            exclude=[hit.article.pk for hit in hits],
            relative_cutoff=0.6,
            short_snippets=True,
            snippets=bool(subject.strip()),
        )
        hits += [hit for hit in found.hits if hit.score >= 0.2]
    return hits[:limit]


@dataclass
class DeflectionRate:
    ticket_category: str
    attempts: int  # visits to the ticket form in which at least one article was suggested
    opened: int  # ... in which a suggestion was opened
    solved: int  # ... that ended with "this solved it" (no ticket filed)

    @property
    def rate(self) -> float | None:
        return self.solved / self.attempts if self.attempts else None

    @property
    def label(self) -> str:
        return str(Category(self.ticket_category).label) if self.ticket_category in Category.values else "—"


def deflection_rates(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[DeflectionRate]:
    """The deflection rate per ticket category: of the ticket-form visits that were shown
    suggestions, the share that ended with an article solving the problem. Read by the reports."""
    events = DeflectionEvent.objects.all()
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    rows = events.values("ticket_category").annotate(
        attempts=Count("attempt", distinct=True, filter=Q(kind=DeflectionEvent.Kind.SHOWN)),
        opened=Count("attempt", distinct=True, filter=Q(kind=DeflectionEvent.Kind.OPENED)),
        solved=Count("attempt", distinct=True, filter=Q(kind=DeflectionEvent.Kind.SOLVED)),
    )
    rates = [
        DeflectionRate(row["ticket_category"], row["attempts"], row["opened"], row["solved"])
        for row in rows.order_by("ticket_category")
    ]
    return rates


def deflection_total(rates: list[DeflectionRate]) -> DeflectionRate:
    return DeflectionRate(
        "",
        sum(r.attempts for r in rates),
        sum(r.opened for r in rates),
        sum(r.solved for r in rates),
    )


def views_since(*, article: Article, days: int = 30) -> int:
    since = timezone.localdate() - dt.timedelta(days=days)
    return article.view_days.filter(day__gte=since).aggregate(n=Sum("views"))["n"] or 0
