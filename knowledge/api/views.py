"""The help centre's API: the answering engine (for the chat bot and integrations), search and
articles, and the deflection figures for the dashboards. Scoped by who asks, like the pages."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.permissions import IsManagement
from helpdesk.errors import DomainError
from helpdesk.net import client_ip
from knowledge import selectors, services
from knowledge.api import serializers as s
from knowledge.models import Article
from tickets.api.serializers import ApiErrorSerializer
from tickets.markdown import render_markdown

TAG = "knowledge"


class KnowledgeThrottle(SimpleRateThrottle):
    """Anonymous callers may ask, but not hammer: per client address."""

    scope = "knowledge"
    rate = "120/min"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        field, errors = next(iter(serializer.errors.items()))
        raise DomainError(str(errors[0]), code=getattr(errors[0], "code", "invalid"), field=field)
    return serializer.validated_data


def _public_url(request, article: Article) -> str:
    if article.visibility != Article.Visibility.PUBLIC:
        return ""
    return request.build_absolute_uri(reverse("help-article", args=[article.category.slug, article.slug]))


def _hits(request, hits, language: str) -> list[dict]:
    return [
        {
            "id": hit.article.pk,
            "slug": hit.article.slug,
            "category": hit.article.category.slug,
            "kind": hit.article.kind,
            "language": hit.article.shown_language(language),
            "title": hit.title,
            "url": _public_url(request, hit.article),
            "snippet": str(hit.snippet),
            "score": hit.score,
            "confidence": hit.confidence,
        }
        for hit in hits
    ]


class AnswerView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [KnowledgeThrottle]

    @extend_schema(
        tags=[TAG],
        parameters=[s.AnswerQuerySerializer],
        responses={200: s.AnswerSerializer, 400: OpenApiResponse(ApiErrorSerializer)},
        summary="Answer a question from the help centre",
        description="The best articles for a question with a confidence each. `confident` is false below the "
        "threshold: the engine does not know, and a bot should hand the conversation to a person.",
    )
    def get(self, request):
        data = _validated(s.AnswerQuerySerializer, request.query_params)
        answer = selectors.answer(user=request.user, question=data["q"], language=data["lang"])
        if not answer.hits:
            services.search_miss_record(query=data["q"], language=data["lang"])
        payload = {
            "question": answer.question,
            "language": answer.language,
            "read_as": answer.read_as,
            "confident": answer.confident,
            "confidence": answer.confidence,
            "threshold": answer.threshold,
            "articles": _hits(request, answer.hits, answer.language),
        }
        return Response(s.AnswerSerializer(payload).data)


class ArticleListView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [KnowledgeThrottle]

    @extend_schema(
        tags=[TAG],
        parameters=[s.SearchQuerySerializer],
        responses={200: s.ArticleHitSerializer(many=True), 400: OpenApiResponse(ApiErrorSerializer)},
        summary="Search the help centre, or list a section",
    )
    def get(self, request):
        data = _validated(s.SearchQuerySerializer, request.query_params)
        language = data["lang"]
        if data.get("q"):
            results = selectors.search_articles(user=request.user, query=data["q"], language=language, limit=20)
            if not results.hits:
                services.search_miss_record(query=data["q"], language=language)
            return Response(_hits(request, results.hits, results.language))
        articles = selectors.visible_articles(request.user).select_related("category").defer(*selectors.LIST_DEFERRED)
        if data.get("category"):
            articles = articles.filter(category__slug=data["category"])
        hits = [
            selectors.Hit(article=a, title=a.title(language), snippet="", score=0.0) for a in articles.order_by("pk")
        ]
        return Response(_hits(request, hits, language))


class ArticleDetailView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [KnowledgeThrottle]

    @extend_schema(
        tags=[TAG],
        parameters=[s.LanguageQuerySerializer],
        responses={200: s.ArticleSerializer, 404: OpenApiResponse(ApiErrorSerializer)},
        summary="One article, in the reader's language when it is written in it",
    )
    def get(self, request, slug: str):
        data = _validated(s.LanguageQuerySerializer, request.query_params)
        article = selectors.article_get_by_slug(user=request.user, slug=slug)
        language = data["lang"]
        body = article.body(language)
        payload = {
            "id": article.pk,
            "slug": article.slug,
            "category": article.category.slug,
            "kind": article.kind,
            "language": article.shown_language(language),
            "title": article.title(language),
            "body": body,
            "body_html": str(render_markdown(body)),
            "url": _public_url(request, article),
            "updated_at": article.updated_at,
        }
        return Response(s.ArticleSerializer(payload).data)


class DeflectionView(APIView):
    permission_classes = [IsManagement]

    @extend_schema(
        tags=[TAG],
        parameters=[s.DeflectionQuerySerializer],
        responses={200: s.DeflectionRateSerializer(many=True)},
        summary="The deflection rate per ticket category",
    )
    def get(self, request):
        data = _validated(s.DeflectionQuerySerializer, request.query_params)
        rates = selectors.deflection_rates(since=data.get("since"), until=data.get("until"))
        return Response(
            [
                {
                    "ticket_category": r.ticket_category,
                    "attempts": r.attempts,
                    "opened": r.opened,
                    "solved": r.solved,
                    "rate": r.rate,
                }
                for r in rates
            ]
        )
