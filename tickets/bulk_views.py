"""The workspace's list (/desk/tickets/) with its saved views, its bulk actions, and the actions
that make tickets belong together (merge, link, split, tags). Thin: each view reads its input,
calls one orchestrator, service or selector, and says what happened."""

from __future__ import annotations

import json
from abc import ABCMeta, abstractmethod
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import InvalidPage
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views import View

from accounts.permissions import AreaRequiredMixin
from helpdesk.errors import DomainError, NotFound
from queues.models import Line
from tickets import bulk, search, selectors, services, views_saved
from tickets.models import Category, Message, SavedView, Status, Urgency
from tickets.pagination import LookaheadPaginator

# Each view's count stops here ("99+"): counting more would read what nobody looks at.
COUNT_CAP = 99
LIST_PATH = "/desk/tickets/"
PAGE_SIZE = 20


# --- the list --------------------------------------------------------------------------------


def _filters_from_query(query) -> dict[str, Any]:
    """The filters the query string sets, each checked on its own: a bad value is dropped, so a
    hand-edited address shows the list rather than an error."""
    raw: dict[str, Any] = {
        "q": query.get("q", ""),
        "status": [value for value in query.getlist("status") if value],
        "line": query.get("line", ""),
        "assignee": query.get("assignee", ""),
        "urgency": [value for value in query.getlist("urgency") if value],
        "category": [value for value in query.getlist("category") if value],
        "tag": query.get("tag", ""),
        "sla": query.get("sla", ""),
    }
    days = query.get("waiting_days", "")
    if days.isascii() and days.isdigit() and len(days) < 4:
        raw["waiting_days"] = int(days)
    if "open" in query:
        raw["open"] = "1" in query.getlist("open")
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            clean.update(views_saved.filters_clean({key: value}))
        except DomainError:
            continue
    return clean


def _sort_from_query(query) -> str:
    try:
        return views_saved.sort_clean(query.get("sort", ""))
    except DomainError:
        return ""


class LateRowPaginator(LookaheadPaginator):
    """Look-ahead counting, and a page read in two steps: the numbers of its tickets first, in
    the list's order, from the index alone where one covers the filters and the order (the open
    tickets' `tickets_open_workspace`), then those twenty tickets with what the list shows. Sorted
    by urgency, status or deadline, the order is computed for every matching ticket; read with
    the rows and their joins, that meant fetching thousands of table rows for a page of twenty."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {ticket.pk: ticket for ticket in self.object_list.order_by().filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


def workspace_list(request, *, page_number):
    user = request.user
    views = views_saved.views_for(user=user)
    key = request.GET.get("view", "")
    current = None
    if key:
        try:
            current = views_saved.view_get(user=user, key=key)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    asked = _filters_from_query(request.GET)
    if current is not None:
        filters = {**views_saved.filters_clean(current.filters), **asked}
        sort = _sort_from_query(request.GET) or current.sort
    else:
        filters = {"open": True, **asked} if "open" not in request.GET and not asked.get("status") else asked
        sort = _sort_from_query(request.GET)
    visible = selectors.tickets_visible_to(user)
    tickets = views_saved.workspace_tickets(user=user, filters=filters, sort=sort, visible=visible)
    number = page_number(request)
    paginator = LateRowPaginator(tickets.prefetch_related("tags"), PAGE_SIZE, number=number)
    listed = [
        views_saved.workspace_tickets(user=user, filters=views_saved.filters_clean(view.filters), visible=visible)
        for view in views
    ]
    # The views' counts and the list's own (up to the pages around this one) in one statement.
    *counts, found = views_saved.capped_counts(
        [*listed, paginator.object_list], [COUNT_CAP + 1] * len(listed) + [paginator.limit]
    )
    paginator.__dict__["count"] = found  # its cached_property, counted with the views
    try:
        page = paginator.page(number)
    except InvalidPage as exc:
        raise Http404(_("No such page.")) from exc
    query_string = request.GET.copy()
    query_string.pop("page", None)
    query = urlencode(query_string, doseq=True)
    if filters.get("q"):
        page.object_list = search.highlight_page(user=user, text=filters["q"], tickets=page.object_list)
    counted = [
        {
            "view": view,
            "count": min(number, COUNT_CAP),
            "more": number > COUNT_CAP,
            "active": current is not None and view.key == current.key,
        }
        for view, number in zip(views, counts, strict=True)
    ]
    base = request.GET.copy()
    for name in ("page", "sort"):
        base.pop(name, None)
    active_sort = sort or ("" if filters.get("q") else views_saved.DEFAULT_SORT)
    columns = {}
    for name in views_saved.SORTS:
        descending = active_sort == f"-{name}"
        ascending = active_sort == name
        # A click sorts by the column; a second click turns the order round.
        next_sort = name if descending else f"-{name}"
        columns[name] = {
            "url": "?" + urlencode([*base.lists(), ("sort", [next_sort])], doseq=True),
            "state": "descending" if descending else "ascending" if ascending else "",
        }
    # The active lines read once: the agent's own are those of their memberships (read already).
    active_lines = list(selectors.active_lines())
    if user.is_management:
        lines = active_lines
    else:
        member_of = set(selectors.member_line_ids(user))
        lines = [line for line in active_lines if line.id in member_of]
    context = {
        "page": page,
        "query": query,
        "views": counted,
        "current": current,
        "filters": filters,
        "filters_json": json.dumps(filters, ensure_ascii=False),
        "sort": sort,
        "columns": columns,
        "lines": lines,
        "transfer_lines": active_lines,
        "share_lines": lines,
        "urgencies": Urgency.choices,
        "categories": Category.choices,
        "statuses": Status.choices,
        "tags": views_saved.tags_in_use(),
        "actions": bulk.ACTIONS,
        "count_cap": COUNT_CAP,
        "return_to": request.get_full_path(),
    }
    return render(request, "tickets/desk_list.html", context)


def _back(request, fallback: str = LIST_PATH) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if target.startswith(LIST_PATH) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


def _numbers(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.isascii() and value.isdigit() and len(value) < 19]


class DeskBulk(AreaRequiredMixin, View):
    """POST: one action on the selected tickets; each ticket's result is reported."""

    area = "desk"

    def post(self, request):
        data = request.POST
        into = data.get("into", "")
        try:
            result = bulk.bulk_apply(
                actor=request.user,
                action=data.get("action", ""),
                numbers=_numbers(data.getlist("tickets")),
                line=data.get("line", ""),
                reason=data.get("reason", ""),
                urgency=data.get("urgency", ""),
                tag=data.get("tag", ""),
                into=int(into) if into.isascii() and into.isdigit() and len(into) < 19 else None,
            )
        except DomainError as error:
            messages.error(request, error.message)
            return _back(request)
        action = str(bulk.ACTIONS[result.action])
        if result.done:
            numbers = ", ".join(f"#{number}" for number in result.done)
            if result.action == "merge":
                messages.success(
                    request,
                    ngettext(
                        "Merged %(count)d ticket into #%(into)s: %(numbers)s.",
                        "Merged %(count)d tickets into #%(into)s: %(numbers)s.",
                        len(result.done),
                    )
                    % {"count": len(result.done), "into": result.into, "numbers": numbers},
                )
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(action)s: done for %(count)d ticket (%(numbers)s).",
                        "%(action)s: done for %(count)d tickets (%(numbers)s).",
                        len(result.done),
                    )
                    % {"action": action, "count": len(result.done), "numbers": numbers},
                )
        for number, reason in result.failed.items():
            messages.error(
                request,
                _("%(action)s: not done for #%(number)s: %(reason)s")
                % {"action": action, "number": number, "reason": reason},
            )
        return _back(request)


class DeskSavedViewCreate(AreaRequiredMixin, View):
    """POST: save the list as it is filtered and sorted now, as a private or a line's view."""

    area = "desk"

    def post(self, request):
        raw = request.POST.get("filters") or "{}"
        try:
            # A view's filters are a few short values; anything longer is no view of this page.
            filters = json.loads(raw) if len(raw) <= 5000 else None
        except (ValueError, RecursionError):
            filters = None
        share = request.POST.get("line", "")
        try:
            line = None
            if share:
                line = Line.objects.filter(code=share).first()
                if line is None:
                    raise DomainError(_("No such line."), field="line")
            view = services.saved_view_create(
                actor=request.user,
                name=request.POST.get("name", ""),
                filters=filters,
                sort=request.POST.get("sort", ""),
                line=line,
            )
        except DomainError as error:
            messages.error(request, error.message)
            return _back(request)
        messages.success(request, _("The view “%(name)s” is saved.") % {"name": view.name})
        return redirect(f"{reverse('desk-tickets')}?view={view.pk}")


class DeskSavedViewDelete(AreaRequiredMixin, View):
    area = "desk"

    def post(self, request, pk: int):
        view = SavedView.objects.filter(pk=pk).first()
        try:
            if view is None:
                raise NotFound(_("No such view."))
            services.saved_view_delete(view=view, actor=request.user)
        except DomainError as error:
            messages.error(request, error.message)
            return _back(request)
        messages.success(request, _("The view is deleted."))
        return redirect("desk-tickets")


# --- one ticket: merge, link, split, tags -----------------------------------------------------------


class _TicketAction(AreaRequiredMixin, View, metaclass=ABCMeta):
    """POST on one ticket of the workspace: run the service, say what happened, go back."""

    area = "desk"
    success_message = ""

    @abstractmethod
    def act(self, request, ticket):
        """Run the service on the ticket."""

    def post(self, request, number: int):
        try:
            ticket = selectors.ticket_get(user=request.user, number=number)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        try:
            destination = self.act(request, ticket)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            if self.success_message:
                messages.success(request, _(self.success_message))
            if destination is not None:
                return redirect("desk-ticket", number=destination.number)
        return redirect("desk-ticket", number=number)


def _other_ticket(request, field: str):
    raw = (request.POST.get(field) or "").strip().lstrip("#")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise DomainError(_("Give the other ticket's number."), code="required", field=field)
    return selectors.ticket_get(user=request.user, number=int(raw))


class DeskMerge(_TicketAction):
    success_message = gettext_noop("The tickets are merged; the customer is told.")

    def act(self, request, ticket):
        return services.ticket_merge(ticket=ticket, into=_other_ticket(request, "into"), actor=request.user)


class DeskLink(_TicketAction):
    success_message = gettext_noop("The tickets are marked as related.")

    def act(self, request, ticket):
        services.ticket_link(ticket=ticket, other=_other_ticket(request, "other"), actor=request.user)


class DeskUnlink(_TicketAction):
    success_message = gettext_noop("The tickets are no longer related.")

    def act(self, request, ticket):
        services.ticket_unlink(ticket=ticket, other=_other_ticket(request, "other"), actor=request.user)


class DeskSplit(_TicketAction):
    success_message = gettext_noop("The message is a new ticket now.")

    def act(self, request, ticket):
        raw = request.POST.get("message", "")
        message = (
            Message.objects.filter(ticket=ticket, pk=int(raw)).first()
            if raw.isascii() and raw.isdigit() and len(raw) < 19
            else None
        )
        if message is None:
            raise NotFound(_("No such message on this ticket."))
        return services.ticket_split(
            ticket=ticket, message=message, actor=request.user, subject=request.POST.get("subject", "")
        )


class DeskTag(_TicketAction):
    success_message = gettext_noop("The tag is added.")

    def act(self, request, ticket):
        services.ticket_tag(ticket=ticket, actor=request.user, name=request.POST.get("tag", ""))


class DeskUntag(_TicketAction):
    success_message = gettext_noop("The tag is removed.")

    def act(self, request, ticket):
        services.ticket_untag(ticket=ticket, actor=request.user, name=request.POST.get("tag", ""))
