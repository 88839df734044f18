"""The quality desk's pages: the customer's rating control in the panel, the e-mail's rating page
(no login), and the workspace's queue, scorecards, reviews, disputes, calibration and results.
Thin: each view validates a form, calls one service or selector, renders."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.permissions import AreaRequiredMixin
from helpdesk.errors import DomainError, NotFound, PermissionDenied
from quality import policy, selectors, services
from quality.forms import DisputeForm, PeriodForm, RatingForm, ScorecardForm, SessionForm, SettleForm
from quality.models import DisputeState, QueueState, Verdict


def _read(function, **kwargs):
    """A selector's answer, its refusals as the pages' 404 and 403."""
    try:
        return function(**kwargs)
    except NotFound as error:
        raise Http404(error.message) from error
    except PermissionDenied as error:
        raise PageForbidden(error.message) from error


def _form_error(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- the customer's rating ------------------------------------------------------------------


class PanelRate(AreaRequiredMixin, View):
    """The like/dislike control under an agent's reply (htmx swaps the control; without it, back to the ticket)."""

    area = "panel"

    def post(self, request, message_id: int):
        message = _read(selectors.reply_to_rate, user=request.user, message_id=message_id)
        form = RatingForm(request.POST)
        error = None
        if form.is_valid():
            try:
                services.rating_give(
                    message=message,
                    customer=request.user,
                    verdict=form.cleaned_data["verdict"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as failure:
                error = failure.message
        else:
            error = _("Choose like or dislike.")
        if request.headers.get("HX-Request"):
            rating = selectors.ratings_for_thread(user=request.user, messages=[message]).get(message.id)
            context = {"message": message, "rating": rating, "error": error, "saved": error is None}
            return render(request, "quality/_rate.html", context, status=200 if error is None else 400)
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("Thank you for your rating."))
        return redirect(reverse("panel-ticket", args=[message.ticket.number]))


class LinkRate(View):
    """The page behind the reply e-mail's link: it asks (a GET never rates: mail scanners open
    links), the POST rates. No login; the signed link is for its reply and works once."""

    def _state(self, message_id: int, token: str):
        try:
            return selectors.link_state(message_id=message_id, token=token), None
        except NotFound as error:
            raise Http404(error.message) from error
        except DomainError as error:
            return (None, None), error

    def get(self, request, message_id: int, token: str):
        (message, rating), error = self._state(message_id, token)
        verdict = request.GET.get("verdict")
        form = RatingForm(initial={"verdict": verdict if verdict in Verdict.values else None})
        context = {"message": message, "rating": rating, "form": form, "error": error, "done": False}
        return render(request, "quality/link.html", context, status=200 if error is None else 409)

    def post(self, request, message_id: int, token: str):
        (message, _rating), error = self._state(message_id, token)
        form = RatingForm(request.POST)
        rating = None
        if error is None and form.is_valid():
            try:
                rating = services.rating_from_link(
                    message_id=message_id,
                    token=token,
                    verdict=form.cleaned_data["verdict"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as failure:
                error = failure
        context = {"message": message, "rating": rating, "form": form, "error": error, "done": rating is not None}
        status = 200 if rating is not None else (409 if error is not None else 400)
        return render(request, "quality/link.html", context, status=status)


# --- the workspace ---------------------------------------------------------------------------


class DeskView(AreaRequiredMixin, View):
    area = "desk"
    tab = ""

    def page(self, request, template: str, context: dict, status: int = 200):
        user = request.user
        context = {
            **context,
            "tab": self.tab,
            "can_review": policy.can_review(user),
            "can_settle": policy.can_settle(user),
            "open_disputes": selectors.open_disputes_count(user=user),
        }
        return render(request, template, context, status=status)


class Queue(DeskView):
    tab = "queue"

    def get(self, request):
        if not policy.can_review(request.user):
            return redirect("desk-quality-reviews")
        state = request.GET.get("state", QueueState.OPEN)
        if state not in QueueState.values:
            raise Http404(_("No such list."))
        items = list(_read(selectors.queue, user=request.user, state=state)[:200])
        return self.page(request, "quality/queue.html", {"items": items, "state": state, "states": QueueState.choices})


class ItemDetail(DeskView):
    tab = "queue"

    def _context(self, request, item, form=None, session_form=None):
        rating = item.rating
        return {
            "item": item,
            "rating": rating,
            "conversation": selectors.conversation(rating=rating),
            "review": selectors.review_of_item(item=item),
            "own_work": rating.agent_id == request.user.id,
            "form": form or ScorecardForm(),
            "session_form": session_form or SessionForm(),
            "sessions": list(item.calibrations.order_by("-created_at")),
        }

    def get(self, request, item_id: int):
        item = _read(selectors.item_get, user=request.user, item_id=item_id)
        return self.page(request, "quality/item.html", self._context(request, item))

    def post(self, request, item_id: int):
        item = _read(selectors.item_get, user=request.user, item_id=item_id)
        form = ScorecardForm(request.POST)
        if form.is_valid():
            try:
                review = services.review_create(item=item, reviewer=request.user, **form.cleaned_data)
            except PermissionDenied as error:
                raise PageForbidden(error.message) from error
            except DomainError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The review is saved."))
                return redirect("desk-quality-review", review_id=review.id)
        return self.page(request, "quality/item.html", self._context(request, item, form=form), status=400)


class ReviewList(DeskView):
    tab = "reviews"

    def get(self, request):
        reviews = selectors.reviews_visible_to(request.user).order_by("-created_at", "-id")
        mine = request.GET.get("mine") == "1" or not policy.sees_all(request.user)
        if mine:
            reviews = reviews.filter(agent=request.user)
        return self.page(request, "quality/reviews.html", {"reviews": list(reviews[:200]), "mine": mine})


class ReviewDetail(DeskView):
    tab = "reviews"

    def _context(self, request, review, form=None):
        rating = review.item.rating
        dispute = getattr(review, "dispute", None)
        return {
            "review": review,
            "rating": rating,
            "score": policy.review_score(review.scores()),
            "conversation": selectors.conversation(rating=rating),
            "dispute": dispute,
            "may_dispute": dispute is None and review.agent_id == request.user.id,
            "may_settle": (
                dispute is not None
                and dispute.state == DisputeState.OPEN
                and policy.can_settle(request.user)
                and request.user.id not in (dispute.agent_id, review.reviewer_id)
            ),
            "form": form or DisputeForm(),
            "settle_form": SettleForm(),
        }

    def get(self, request, review_id: int):
        review = _read(selectors.review_get, user=request.user, review_id=review_id)
        return self.page(request, "quality/review.html", self._context(request, review))

    def post(self, request, review_id: int):
        """The agent disputes the review."""
        review = _read(selectors.review_get, user=request.user, review_id=review_id)
        form = DisputeForm(request.POST)
        if form.is_valid():
            try:
                services.dispute_open(review=review, agent=request.user, reason=form.cleaned_data["reason"])
            except NotFound as error:
                raise PageForbidden(error.message) from error
            except DomainError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Your dispute is sent to the managers."))
                return redirect("desk-quality-review", review_id=review.id)
        return self.page(request, "quality/review.html", self._context(request, review, form=form), status=400)


class DisputeList(DeskView):
    tab = "disputes"

    def get(self, request):
        disputes = selectors.disputes_visible_to(request.user)
        state = request.GET.get("state", DisputeState.OPEN)
        if state not in DisputeState.values:
            raise Http404(_("No such list."))
        disputes = disputes.filter(state=state)
        context = {"disputes": list(disputes[:200]), "state": state, "states": DisputeState.choices}
        return self.page(request, "quality/disputes.html", context)


class DisputeSettle(DeskView):
    def post(self, request, dispute_id: int):
        dispute = _read(selectors.dispute_get, user=request.user, dispute_id=dispute_id)
        form = SettleForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Uphold or reject the dispute."))
        else:
            try:
                services.dispute_settle(dispute=dispute, manager=request.user, **form.cleaned_data)
            except PermissionDenied as error:
                raise PageForbidden(error.message) from error
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("The dispute is settled."))
        return redirect("desk-quality-review", review_id=dispute.review_id)


class SessionList(DeskView):
    tab = "calibration"

    def get(self, request):
        sessions = list(_read(selectors.sessions_visible_to, user=request.user)[:100])
        return self.page(request, "quality/sessions.html", {"sessions": sessions})

    def post(self, request):
        """Open a session on a queue item (from the item's page)."""
        raw = request.POST.get("item", "")
        item_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 18 else 0
        item = _read(selectors.item_get, user=request.user, item_id=item_id)
        form = SessionForm(request.POST)
        if form.is_valid():
            try:
                session = services.session_open(item=item, actor=request.user, title=form.cleaned_data["title"])
            except DomainError as error:
                messages.error(request, error.message)
            else:
                return redirect("desk-quality-session", session_id=session.id)
        else:
            messages.error(request, _("Give the session a title."))
        return redirect("desk-quality-item", item_id=item.id)


class SessionDetail(DeskView):
    tab = "calibration"

    def _context(self, request, session, form=None):
        return {
            "view": selectors.session_view(session=session, user=request.user),
            "conversation": selectors.conversation(rating=session.item.rating),
            "rating": session.item.rating,
            "form": form or ScorecardForm(),
        }

    def get(self, request, session_id: int):
        session = _read(selectors.session_get, user=request.user, session_id=session_id)
        return self.page(request, "quality/session.html", self._context(request, session))

    def post(self, request, session_id: int):
        session = _read(selectors.session_get, user=request.user, session_id=session_id)
        if request.POST.get("action") == "close":
            try:
                services.session_close(session=session, actor=request.user)
            except DomainError as error:
                messages.error(request, error.message)
            return redirect("desk-quality-session", session_id=session.id)
        form = ScorecardForm(request.POST)
        if form.is_valid():
            try:
                services.session_score(session=session, reviewer=request.user, **form.cleaned_data)
            except PermissionDenied as error:
                raise PageForbidden(error.message) from error
            except DomainError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Your scores are in; the others' are shown now."))
                return redirect("desk-quality-session", session_id=session.id)
        return self.page(request, "quality/session.html", self._context(request, session, form=form), status=400)


# --- results ---------------------------------------------------------------------------------

CSV_COLUMNS = [
    ("ratings", gettext_lazy("Ratings")),
    ("likes", gettext_lazy("Likes")),
    ("dislikes", gettext_lazy("Dislikes")),
    ("like_share", gettext_lazy("Share of likes, %")),
    ("unfair_dislikes", gettext_lazy("Unfair dislikes")),
    ("unfair_likes", gettext_lazy("Unfair likes")),
    ("adjusted_like_share", gettext_lazy("Adjusted share of likes, %")),
    ("reviews", gettext_lazy("Reviews")),
    ("quality_score", gettext_lazy("Quality score")),
    ("disputes_won", gettext_lazy("Disputes won")),
    ("disputes_lost", gettext_lazy("Disputes lost")),
]


class Results(DeskView):
    """Per agent and per line: managers and reviewers see everyone, an agent themselves."""

    tab = "results"
    template = "quality/results.html"
    area = "desk"

    def get(self, request):
        form = PeriodForm(request.GET or None)
        start, end = selectors.default_period()
        if form.is_valid():
            start = form.cleaned_data.get("start") or start
            end = form.cleaned_data.get("end") or end
        elif form.is_bound:
            context = {"form": form, "tables": [], "filters": {"start": start, "end": end}, "page": "quality"}
            return self.page(request, self.template, context, status=400)
        tables = [
            (by, _read(selectors.results, user=request.user, start=start, end=end, by=by)) for by in selectors.GROUPS
        ]
        export = request.GET.get("export")
        if export in selectors.GROUPS:
            return self._csv(dict(tables)[export], export, start, end)
        if export:
            raise Http404(_("No such table."))
        query = request.GET.copy()
        query.pop("export", None)
        context = {
            "form": form,
            "tables": tables,
            "start": start,
            "end": end,
            "filters": {"start": start, "end": end},
            "page": "quality",
            "query": query.urlencode(),
        }
        return self.page(request, self.template, context)

    def _csv(self, rows, by: str, start, end) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="quality-{by}-{start}-{end}.csv"'
        writer = csv.writer(response)
        writer.writerow([str(_("Agent") if by == "agent" else _("Line")), *[str(title) for _key, title in CSV_COLUMNS]])
        for row in rows:
            values = row.result.as_dict()
            writer.writerow([row.label, *["" if values[key] is None else values[key] for key, _title in CSV_COLUMNS]])
        return response


class ManageResults(Results):
    """The same results in the management area, beside the other reports."""

    area = "manage"
    template = "quality/manage_results.html"
