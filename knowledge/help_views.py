"""The help centre's pages: public at /help/, the same inside the control panel (/panel/help/)
and the workspace (/desk/help/, with internal articles, editing, feedback and what searches
missed), the ticket form's guided questions and suggestions, and the workspace's article
search beside a ticket. Thin: each view calls a selector or a service and renders."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import View

from accounts.permissions import AreaRequiredMixin
from helpdesk import net
from helpdesk.errors import DomainError, NotFound
from knowledge import selectors, services
from knowledge.forms import ArticleEditForm, FeedbackForm
from knowledge.models import Article, DeflectionEvent
from tickets import selectors as ticket_selectors
from tickets.models import Category

ATTEMPT_SALT = "knowledge.deflection-attempt"
ATTEMPT_MAX_AGE = 24 * 3600
PREFIXES = {"": "help", "panel": "panel-help", "desk": "desk-help"}
SEARCH_LIMIT = 10
# Results scoring below this share of the best are left out: a common word alone matches dozens.
SEARCH_CUTOFF = 0.35


def reader_language() -> str:
    language = (translation.get_language() or "en")[:2]
    return language if language in ("en", "ru") else "en"


def reader_of(request) -> str:
    return services.reader_key(
        user=request.user if request.user.is_authenticated else None,
        session_key=request.session.session_key,
        client_ip=net.client_ip(request) or "unknown",
        user_agent=request.headers.get("User-Agent", ""),
    )


def as_id(raw: str) -> int | None:
    """A row id given in a request: digits that fit a bigint, else None."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def attempt_token(user) -> str:
    """A visit to the ticket form, signed for this customer: the deflection events it groups."""
    return signing.dumps({"a": uuid.uuid4().hex, "u": user.pk}, salt=ATTEMPT_SALT)


def attempt_from(token: str, user) -> uuid.UUID | None:
    try:
        payload = signing.loads(token or "", salt=ATTEMPT_SALT, max_age=ATTEMPT_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("u") != user.pk:
        return None
    try:
        return uuid.UUID(str(payload.get("a")))
    except ValueError:
        return None


class HelpView(View):
    """A page of the help centre in one of its three places; `area` "" is the public one."""

    area = ""

    @property
    def prefix(self) -> str:
        return PREFIXES[self.area]

    def context(self, **extra):
        return {"help_prefix": self.prefix, "help_area": self.area, "language": reader_language(), **extra}


class HelpHome(HelpView):
    def get(self, request):
        language = reader_language()
        context = self.context(
            categories=selectors.categories(user=request.user, language=language),
            popular=selectors.popular(user=request.user, language=language),
        )
        return render(request, "knowledge/help/home.html", context)


class HelpSearch(HelpView):
    """The results page; as you type (htmx), only the results, and words still being typed count as prefixes."""

    def get(self, request):
        query = " ".join((request.GET.get("q") or "").split())[: services.SEARCH_QUERY_MAX]
        partial = bool(request.headers.get("HX-Request"))
        language = reader_language()
        results = None
        if query:
            results = selectors.search_articles(
                user=request.user,
                query=query,
                language=language,
                limit=SEARCH_LIMIT,
                prefix=partial,
                relative_cutoff=SEARCH_CUTOFF,
            )
            if not results.hits and not partial:
                services.search_miss_record(query=query, language=language)
        context = self.context(query=query, results=results)
        template = "knowledge/help/_results.html" if partial else "knowledge/help/search.html"
        return render(request, template, context)


class HelpCategoryView(HelpView):
    def get(self, request, category: str):
        try:
            found = selectors.category_get(user=request.user, slug=category, language=reader_language())
        except NotFound as exc:
            raise Http404(exc.message) from exc
        return render(request, "knowledge/help/category.html", self.context(category=found))


class HelpArticle(HelpView):
    def get_article(self, request, category: str, slug: str) -> Article:
        try:
            return selectors.article_get(user=request.user, category_slug=category, slug=slug)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    def get(self, request, category: str, slug: str):
        article = self.get_article(request, category, slug)
        language = reader_language()
        services.article_record_view(
            article=article, reader=reader_of(request), user_agent=request.headers.get("User-Agent", "")
        )
        attempt_raw = request.GET.get("attempt", "")
        attempt = None
        if self.area == "panel" and attempt_raw:
            attempt = attempt_from(attempt_raw, request.user)
            if attempt is not None:
                services.deflection_record(
                    attempt=attempt,
                    kind=DeflectionEvent.Kind.OPENED,
                    articles=[article],
                    ticket_category=request.GET.get("category", ""),
                    user=request.user,
                )
        context = self.context(
            article=article,
            shown_language=article.shown_language(language),
            title=article.title(language),
            body=article.body(language),
            related=selectors.related(user=request.user, article=article, language=language),
            feedback_form=FeedbackForm(),
            attempt=attempt_raw if attempt is not None else "",
            ticket_category=request.GET.get("category", ""),
        )
        if self.area == "desk":
            context["standing"] = selectors.article_standing(article=article)
        return render(request, "knowledge/help/article.html", context)


class HelpFeedback(HelpArticle):
    """ "Was this helpful?" for an article; a second answer from the same reader replaces the first."""

    def post(self, request, category: str, slug: str):
        article = self.get_article(request, category, slug)
        form = FeedbackForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Say whether the article helped."))
        else:
            services.article_feedback_give(
                article=article,
                reader=reader_of(request),
                helpful=form.cleaned_data["helpful"] == "yes",
                comment=form.cleaned_data["comment"],
                language=reader_language(),
                user=request.user if request.user.is_authenticated else None,
            )
            messages.success(request, _("Thank you for your answer."))
        return redirect(f"{self.prefix}-article", category=category, slug=slug)


# The same pages inside the control panel and the workspace.


class PanelHelpHome(AreaRequiredMixin, HelpHome):
    area = "panel"


class PanelHelpSearch(AreaRequiredMixin, HelpSearch):
    area = "panel"


class PanelHelpCategory(AreaRequiredMixin, HelpCategoryView):
    area = "panel"


class PanelHelpArticle(AreaRequiredMixin, HelpArticle):
    area = "panel"


class PanelHelpFeedback(AreaRequiredMixin, HelpFeedback):
    area = "panel"


class DeskHelpHome(AreaRequiredMixin, HelpHome):
    area = "desk"


class DeskHelpSearch(AreaRequiredMixin, HelpSearch):
    area = "desk"


class DeskHelpCategory(AreaRequiredMixin, HelpCategoryView):
    area = "desk"


class DeskHelpArticle(AreaRequiredMixin, HelpArticle):
    area = "desk"


class DeskHelpFeedback(AreaRequiredMixin, HelpFeedback):
    area = "desk"


# --- deflection: the ticket form's guided questions and suggestions -----------------------


class DeflectionView(AreaRequiredMixin, View):
    area = "panel"

    def attempt(self, request) -> uuid.UUID | None:
        return attempt_from(request.GET.get("attempt") or request.POST.get("attempt", ""), request.user)

    def shown(self, request, attempt, hits, category: str) -> None:
        if attempt is not None and hits:
            services.deflection_record(
                attempt=attempt,
                kind=DeflectionEvent.Kind.SHOWN,
                articles=[hit.article for hit in hits],
                ticket_category=category,
                user=request.user,
            )

    def render_hits(self, request, hits, *, category: str, template: str, **extra):
        token = request.GET.get("attempt", "")
        return render(
            request,
            template,
            {"hits": hits, "attempt": token, "ticket_category": category, "help_prefix": "panel-help", **extra},
        )


class GuideQuestions(DeflectionView):
    """The guided question for the chosen category, or the next one after an answer; an answer
    that ends the path shows the articles it names."""

    def get(self, request):
        category = request.GET.get("category", "")
        if category not in Category.values:
            category = ""
        language = reader_language()
        step_id = request.GET.get("step", "")
        if step_id:
            if as_id(step_id) is None:
                return HttpResponseBadRequest()
            try:
                step = selectors.guide_step(pk=as_id(step_id))
            except NotFound as exc:
                raise Http404(exc.message) from exc
        else:
            step = selectors.guide_root(ticket_category=category) if category else None
        hits = []
        if step is not None and step.parent_id is not None and not step.children.exists():
            hits = selectors.suggestions(
                user=request.user, subject="", ticket_category=step.ticket_category, language=language, step=step
            )
            self.shown(request, self.attempt(request), hits, step.ticket_category)
        return self.render_hits(
            request,
            hits,
            category=step.ticket_category if step is not None else category,
            template="knowledge/deflect/_guide.html",
            step=step,
            question=step.question(language) if step is not None else "",
            answers=[(child, child.answer(language)) for child in step.children.all()] if step is not None else [],
            chosen=step.answer(language) if step is not None and step.parent_id else "",
        )


class Suggestions(DeflectionView):
    """The articles suggested as the customer types the subject."""

    def get(self, request):
        category = request.GET.get("category", "")
        subject = " ".join((request.GET.get("subject") or "").split())[: services.SEARCH_QUERY_MAX]
        hits = []
        if len(subject) >= 3:
            hits = selectors.suggestions(
                user=request.user, subject=subject, ticket_category=category, language=reader_language()
            )
            self.shown(request, self.attempt(request), hits, category)
        return self.render_hits(
            request, hits, category=category, template="knowledge/deflect/_suggestions.html", subject=subject
        )


class Solved(DeflectionView):
    """ "This solved my problem": the visit ends without a ticket, and the deflection is counted."""

    def post(self, request):
        attempt = self.attempt(request)
        article_id = as_id(request.POST.get("solved_article", ""))
        article = None
        if article_id is not None:
            article = selectors.visible_articles(request.user).filter(pk=article_id).first()
        if attempt is None or article is None:
            messages.error(request, _("That suggestion has expired; the form is still here."))
            return redirect("panel-ticket-new")
        services.deflection_record(
            attempt=attempt,
            kind=DeflectionEvent.Kind.SOLVED,
            articles=[article],
            ticket_category=request.POST.get("category", ""),
            user=request.user,
        )
        messages.success(request, _("Glad the article helped. No request was filed; you can always write to us."))
        return redirect("panel")


# --- the workspace: the article search beside a ticket, editing, feedback ------------------


class DeskTicketHelpSearch(AreaRequiredMixin, View):
    """Articles for the ticket page (htmx): open, insert a link into the reply, mark as the answer."""

    area = "desk"

    def get(self, request):
        query = " ".join((request.GET.get("q") or "").split())[: services.SEARCH_QUERY_MAX]
        number = as_id(request.GET.get("ticket", "")) or ""
        hits = []
        if query:
            hits = selectors.search_articles(
                user=request.user, query=query, language=reader_language(), limit=8, prefix=True
            ).hits
        public_urls = {
            hit.article.pk: request.build_absolute_uri(
                reverse("help-article", args=[hit.article.category.slug, hit.article.slug])
            )
            for hit in hits
            if hit.article.visibility == Article.Visibility.PUBLIC
        }
        rows = [(hit, public_urls.get(hit.article.pk, "")) for hit in hits]
        return render(
            request, "knowledge/desk/_ticket_results.html", {"rows": rows, "ticket_number": number, "query": query}
        )


class DeskTicketMarkAnswered(AreaRequiredMixin, View):
    area = "desk"

    def post(self, request, number: int):
        try:
            ticket = ticket_selectors.ticket_get(user=request.user, number=number)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        article_id = as_id(request.POST.get("article", ""))
        article = selectors.visible_articles(request.user).filter(pk=article_id).first() if article_id else None
        if article is None:
            messages.error(request, _("No such article."))
            return redirect("desk-ticket", number=number)
        try:
            if request.POST.get("unmark"):
                services.article_use_unmark(ticket=ticket, article=article, agent=request.user)
                messages.success(request, _("The mark is removed."))
            else:
                services.article_use_mark(ticket=ticket, article=article, agent=request.user)
                messages.success(request, _("Marked as answered by the article."))
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("desk-ticket", number=number)


class DeskArticleList(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request):
        query = (request.GET.get("q") or "").strip()[:200]
        status = request.GET.get("status") if request.GET.get("status") in Article.Status.values else ""
        articles = selectors.articles_for_editing(user=request.user, query=query, status=status)
        return render(
            request,
            "knowledge/desk/articles.html",
            {"articles": articles[:500], "query": query, "status": status, "statuses": Article.Status.choices},
        )


class DeskArticleEdit(AreaRequiredMixin, View):
    """Write a new article (no pk) or change one; each save is a revision."""

    area = "desk"

    def get_article(self, request, pk):
        if pk is None:
            return None
        try:
            return selectors.article_for_editing(user=request.user, pk=pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    def get(self, request, pk: int | None = None):
        article = self.get_article(request, pk)
        form = ArticleEditForm(instance=article)
        return render(request, "knowledge/desk/edit.html", {"form": form, "article": article})

    def post(self, request, pk: int | None = None):
        article = self.get_article(request, pk)
        form = ArticleEditForm(request.POST, instance=article)
        if form.is_valid():
            data = dict(form.cleaned_data)
            note = data.pop("note", "")
            try:
                if article is None:
                    article = services.article_create(author=request.user, note=note, **data)
                else:
                    article = services.article_update(article=article, author=request.user, note=note, **data)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("The article is saved."))
                return redirect("desk-help-article-edit", pk=article.pk)
        return render(request, "knowledge/desk/edit.html", {"form": form, "article": article}, status=400)


class DeskArticleHistory(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request, pk: int):
        try:
            article = selectors.article_for_editing(user=request.user, pk=pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        revisions = selectors.revisions(user=request.user, article=article)
        return render(request, "knowledge/desk/history.html", {"article": article, "revisions": revisions})


class DeskArticleRestore(AreaRequiredMixin, View):
    area = "desk"

    def post(self, request, pk: int, number: int):
        try:
            article = selectors.article_for_editing(user=request.user, pk=pk)
            services.article_restore(article=article, author=request.user, number=number)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Revision %(number)s is restored as a new revision.") % {"number": number})
        return redirect("desk-help-article-history", pk=pk)


class DeskHelpReport(AreaRequiredMixin, View):
    """For the people who keep the guides: the least helpful articles first with their comments,
    the searches that found nothing, the deflection rate per category and the typical questions."""

    area = "desk"

    def get(self, request):
        rates = selectors.deflection_rates()
        context = {
            "standings": selectors.feedback_report(user=request.user),
            "misses": selectors.search_misses(user=request.user),
            "rates": rates,
            "total": selectors.deflection_total(rates),
            "typical": selectors.typical_questions(),
        }
        return render(request, "knowledge/desk/report.html", context)
