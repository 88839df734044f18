"""The workspace's customer pages: a customer at a glance (/desk/customers/<id>/) and the lookup
that finds a customer by name, e-mail or organisation while an agent files a ticket for them.
Thin: each view calls the selectors of accounts.selectors and renders."""

from __future__ import annotations

from django.core.paginator import InvalidPage
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from accounts import selectors
from accounts.permissions import AreaRequiredMixin
from helpdesk.errors import NotFound
from tickets.pagination import LookaheadPaginator

PAGE_SIZE = 20
PAGE_MAX = 10**9


def _page_number(request) -> int:
    raw = request.GET.get("page", "")
    if not raw:
        return 1
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 1 <= int(raw) <= PAGE_MAX:
        raise Http404(_("No such page."))
    return int(raw)


class DeskCustomerDetail(AreaRequiredMixin, View):
    """A customer's card and their whole history (the tickets the agent may see), paginated."""

    area = "desk"

    def get(self, request, pk: int):
        try:
            customer = selectors.customer_visible_to(viewer=request.user, customer_id=pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        card = selectors.customer_card(viewer=request.user, customer=customer)
        number = _page_number(request)
        paginator = LookaheadPaginator(
            selectors.customer_tickets(viewer=request.user, customer=customer), PAGE_SIZE, number=number
        )
        try:
            page = paginator.page(number)
        except InvalidPage as exc:
            raise Http404(_("No such page.")) from exc
        return render(request, "accounts/desk_customer.html", {"card": card, "page": page, "query": ""})


class DeskCustomerLookup(AreaRequiredMixin, View):
    """Customers matching what the agent types (htmx: the list under the customer field)."""

    area = "desk"

    def get(self, request):
        query = (request.GET.get("customer") or request.GET.get("q") or "")[:200]
        hits = selectors.customer_lookup(viewer=request.user, query=query)
        return render(request, "accounts/_customer_hits.html", {"hits": hits, "query": query.strip()})
