"""Queue pages: the customer's standing and boosts, take-next, the managers' queue page."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts.permissions import AreaRequiredMixin
from helpdesk.errors import DomainError, NotFound
from queues import selectors as queue_selectors
from queues import services
from queues.models import QueuePolicy
from tickets import selectors as ticket_selectors
from tickets import services as ticket_services


def _ticket(user, number):
    try:
        return ticket_selectors.ticket_get(user=user, number=number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


class PanelStanding(AreaRequiredMixin, View):
    """The position-and-wait block of the customer's ticket page (htmx refreshes it)."""

    area = "panel"

    def get(self, request, number):
        ticket = _ticket(request.user, number)
        context = {
            "ticket": ticket,
            "standing": queue_selectors.ticket_standing(ticket=ticket),
            "offers": queue_selectors.boost_offers(ticket, request.user),
        }
        return render(request, "queues/_standing.html", context)


class PanelBoost(AreaRequiredMixin, View):
    area = "panel"

    def post(self, request, number):
        ticket = _ticket(request.user, number)
        try:
            boost = services.boost_buy(
                ticket=ticket,
                customer=request.user,
                kind=request.POST.get("kind", ""),
                idempotency_key=request.POST.get("idempotency_key", ""),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Done: your ticket moved up; %(price)s was charged to your balance.") % {"price": boost.price},
            )
        return redirect("panel-ticket", number=number)


class DeskTakeNext(AreaRequiredMixin, View):
    area = "desk"

    def post(self, request):
        try:
            ticket = ticket_services.ticket_take_next(agent=request.user)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("desk-tickets")
        if ticket is None:
            messages.info(request, _("Nobody is waiting in your lines."))
            return redirect("desk-tickets")
        return redirect("desk-ticket", number=ticket.number)


class ManageQueue(AreaRequiredMixin, View):
    area = "manage"

    def get(self, request):
        context = {"overview": queue_selectors.queue_overview(), "policy": QueuePolicy.current()}
        return render(request, "queues/manage_queue.html", context)
