"""Ticket pages of the customer control panel (/panel/tickets/) and the agent workspace
(/desk/tickets/). Thin: each view validates a form, calls one service or selector, renders."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import InvalidPage
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views import View

from accounts.models import Role, User
from accounts.permissions import AreaRequiredMixin
from accounts.selectors import CARD_RELATED, customer_card
from helpdesk.errors import Conflict, DomainError, NotFound
from queues.models import Line
from queues.selectors import boost_offers, ticket_standing
from sla.selectors import line_clocks
from tickets import bulk_views, idempotency, search, selectors, services
from tickets.forms import (
    AccessDataForm,
    AgentReplyForm,
    CallForm,
    ListFilterForm,
    PromiseForm,
    ReopenForm,
    ReplyForm,
    TicketForm,
    TransferForm,
)
from tickets.models import OPEN_STATUSES, IdempotencyKey, Status, Urgency
from tickets.pagination import LOOKAHEAD_PAGES, LookaheadPaginator

PAGE_SIZE = 20
CUSTOMER_CARD_RELATED = tuple(f"customer__{name}" for name in CARD_RELATED)
# Past this page, the OFFSET and the lookahead's LIMIT would not fit PostgreSQL's bigint.
PAGE_NUMBER_MAX = (2**63 - 1) // PAGE_SIZE - LOOKAHEAD_PAGES - 1


def _page_number(request) -> int:
    """The page asked for, 1 when none is. Anything but a page that can exist is a 404, as
    in the API: not a number, zero, negative, past the last page."""
    raw = request.GET.get("page", "")
    if not raw:
        return 1
    # isdigit() alone lets "²" through, which int() refuses.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(PAGE_NUMBER_MAX))):
        raise Http404(_("No such page."))
    number = int(raw)
    if not 1 <= number <= PAGE_NUMBER_MAX:
        raise Http404(_("No such page."))
    return number


def _page(request, queryset):
    number = _page_number(request)
    paginator = LookaheadPaginator(queryset, PAGE_SIZE, number=number)
    try:
        page = paginator.page(number)
    except InvalidPage as exc:
        raise Http404(_("No such page.")) from exc
    query = request.GET.copy()
    query.pop("page", None)
    return page, urlencode(query, doseq=True)


def _get_ticket(user, number: int, related: tuple[str, ...] = ()):
    try:
        return selectors.ticket_get(user=user, number=number, related=related)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _report(request, error: DomainError) -> None:
    messages.error(request, error.message)


class TicketActionView(AreaRequiredMixin, View):
    """POST-only actions on one ticket: run the service, say what happened, go back."""

    area = ""
    success_message = ""

    # Subclasses define act(request, ticket), which calls one service.

    def post(self, request, number: int):
        ticket = _get_ticket(request.user, number)
        try:
            result = self.act(request, ticket)
        except DomainError as error:
            _report(request, error)
        else:
            if result is not False and self.success_message:
                messages.success(request, _(self.success_message))
        return redirect(f"{self.area}-ticket", number=number)


# --- control panel -----------------------------------------------------------------


class PanelTicketList(AreaRequiredMixin, View):
    area = "panel"

    def get(self, request):
        form = ListFilterForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        tickets = selectors.ticket_list(user=request.user, search=filters.get("q"), status=filters.get("status"))
        page, query = _page(request, tickets)
        if filters.get("q"):
            page.object_list = search.highlight_page(user=request.user, text=filters["q"], tickets=page.object_list)
        return render(request, "tickets/panel_list.html", {"page": page, "query": query, "form": form})


class PanelTicketCreate(AreaRequiredMixin, View):
    area = "panel"

    def get(self, request):
        return render(request, "tickets/panel_new.html", {"form": TicketForm(), "form_token": uuid.uuid4().hex})

    def post(self, request):
        form = TicketForm(request.POST, request.FILES)
        token = request.POST.get("form_token") or ""
        if form.is_valid():
            data = form.cleaned_data

            def create():
                return services.ticket_create(
                    customer=request.user,
                    subject=data["subject"],
                    body=data["body"],
                    category=data["category"],
                    urgency=data["urgency"],
                    service=data["service"],
                    attachments=data["attachments"],
                    access_data=data["access_data"],
                    hardware_component=data["hardware_component"],
                )

            try:
                if token:
                    token = idempotency.clean_key(token, field="form_token")
                    filed = idempotency.ticket_create_once(
                        user=request.user, scope=IdempotencyKey.Scope.PANEL_FORM, key=token, create=create
                    )
                    ticket, again = filed.ticket, filed.replayed
                else:
                    ticket, again = create(), False
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                if again:
                    messages.info(request, _("Ticket #%(number)s was filed already.") % {"number": ticket.number})
                else:
                    messages.success(request, _("Ticket #%(number)s is filed.") % {"number": ticket.number})
                return redirect("panel-ticket", number=ticket.number)
        context = {"form": form, "form_token": token or uuid.uuid4().hex}
        return render(request, "tickets/panel_new.html", context, status=400)


class PanelTicketDetail(AreaRequiredMixin, View):
    area = "panel"

    def get(self, request, number: int):
        ticket = _get_ticket(request.user, number)
        conversation = selectors.ticket_conversation(ticket=ticket, user=request.user)
        context = {
            "ticket": ticket,
            "thread": conversation.thread,
            "ticket_files": conversation.ticket_files,
            "reply_form": ReplyForm(),
            "reopen_form": ReopenForm(),
            "access_form": AccessDataForm(),
            "has_access_data": ticket.access_data_stored,
            "can_reply": ticket.status != Status.CLOSED,
            "can_confirm": ticket.status == Status.RESOLVED,
            "can_reopen": ticket.status in (Status.RESOLVED, Status.CLOSED),
            "standing": ticket_standing(ticket=ticket),
            "offers": boost_offers(ticket, request.user),
        }
        return render(request, "tickets/panel_detail.html", context)


class PanelReply(TicketActionView):
    area = "panel"
    success_message = gettext_noop("Your message is sent.")

    def act(self, request, ticket):
        form = ReplyForm(request.POST, request.FILES)
        if not form.is_valid():
            raise DomainError(_("Write a message first."), field="body")
        services.message_add(
            ticket=ticket,
            author=request.user,
            body=form.cleaned_data["body"],
            attachments=form.cleaned_data["attachments"],
        )


class PanelConfirm(TicketActionView):
    area = "panel"
    success_message = gettext_noop("Thank you! The ticket is closed.")

    def act(self, request, ticket):
        services.ticket_confirm(ticket=ticket, customer=request.user)


class PanelReopen(TicketActionView):
    area = "panel"
    success_message = gettext_noop("The ticket is open again; the support team will answer.")

    def act(self, request, ticket):
        form = ReopenForm(request.POST)
        if not form.is_valid():
            raise DomainError(_("Tell us what is still wrong."), field="body")
        services.ticket_reopen(ticket=ticket, customer=request.user, body=form.cleaned_data["body"])


class PanelAcceptExtraCharge(TicketActionView):
    area = "panel"
    success_message = gettext_noop("Thank you; the engineers can start.")

    def act(self, request, ticket):
        services.ticket_accept_extra_charge(ticket=ticket, customer=request.user)


class PanelAccessData(TicketActionView):
    area = "panel"
    success_message = gettext_noop("Access data is stored encrypted.")

    def act(self, request, ticket):
        form = AccessDataForm(request.POST)
        if not form.is_valid():
            raise DomainError(_("Access data must not be empty."), field="access_data")
        services.secret_store(ticket=ticket, actor=request.user, access_data=form.cleaned_data["access_data"])


# --- agent workspace ---------------------------------------------------------------


class DeskTicketList(AreaRequiredMixin, View):
    """The workspace's list: a view (built in or saved) with its filters, the filters of the
    form on top, an order from the whitelist of tickets.views_saved, the views' counts, and
    the bulk actions (tickets.bulk_views)."""

    area = "desk"

    def get(self, request):
        return bulk_views.workspace_list(request, page_number=_page_number)


class DeskTicketCreate(AreaRequiredMixin, View):
    """An agent files a ticket on a customer's behalf (phone, chat)."""

    area = "desk"

    def get(self, request):
        return render(request, "tickets/desk_new.html", {"form": TicketForm(), "customer_query": ""})

    def post(self, request):
        form = TicketForm(request.POST, request.FILES)
        username = (request.POST.get("customer") or "").strip()
        customer = User.objects.filter(username=username, role=Role.CUSTOMER).first()
        if customer is None:
            form.add_error(None, _("No customer with the login “%(name)s”.") % {"name": username})
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.ticket_create(
                    customer=customer,
                    created_by=request.user,
                    channel=request.POST.get("channel") or "phone",
                    subject=data["subject"],
                    body=data["body"],
                    category=data["category"],
                    urgency=data["urgency"],
                    service=data["service"],
                    attachments=data["attachments"],
                    access_data=data["access_data"],
                    hardware_component=data["hardware_component"],
                )
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Ticket #%(number)s is filed.") % {"number": ticket.number})
                return redirect("desk-ticket", number=ticket.number)
        return render(request, "tickets/desk_new.html", {"form": form, "customer_query": username}, status=400)


class DeskLogCall(AreaRequiredMixin, View):
    """Log a phone call on the customer's behalf: a new ticket or a message on an existing one."""

    area = "desk"

    def get(self, request):
        return render(request, "tickets/desk_call.html", {"form": CallForm()})

    def post(self, request):
        form = CallForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            customer = User.objects.filter(username=data["customer"], role=Role.CUSTOMER).first()
            try:
                if customer is None:
                    raise DomainError(_("No customer with the login “%(name)s”.") % {"name": data["customer"]})
                ticket = _get_ticket(request.user, data["ticket"]) if data["ticket"] else None
                call = services.call_log(
                    agent=request.user,
                    customer=customer,
                    duration=dt.timedelta(minutes=float(data["minutes"])),
                    summary=data["summary"],
                    ticket=ticket,
                    subject=data["subject"],
                    category=data["category"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The call is logged."))
                return redirect("desk-ticket", number=call.ticket.number)
        return render(request, "tickets/desk_call.html", {"form": form}, status=400)


class DeskTicketDetail(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request, number: int, draft=None, collision: str = ""):
        # With the customer as their card shows them (accounts.selectors.CARD_RELATED), in the same query.
        ticket = _get_ticket(request.user, number, related=CUSTOMER_CARD_RELATED)
        can_work = selectors.can_work_ticket(request.user, ticket)
        templates = selectors.templates_for(ticket=ticket) if can_work else []
        rendered = services.templates_render(templates=templates, ticket=ticket, agent=request.user)
        conversation = selectors.ticket_conversation(ticket=ticket, user=request.user)
        context = {
            "ticket": ticket,
            "can_work": can_work,
            "thread": conversation.thread,
            "ticket_files": conversation.ticket_files,
            "history": selectors.ticket_history(ticket=ticket, user=request.user),
            "line_clocks": line_clocks(ticket=ticket),
            "templates": [(template, rendered[template.id]) for template in templates],
            "transfer_form": TransferForm(lines=selectors.transfer_targets(ticket=ticket)),
            "promise_form": PromiseForm(),
            "has_access_data": ticket.access_data_stored,
            "is_line_member": selectors.is_line_member(request.user, ticket.line_id),
            "urgencies": Urgency.choices,
            # A closed or solved ticket is out of the queue: no place, no weight, no re-queueing.
            "standing": ticket_standing(ticket=ticket) if ticket.status in OPEN_STATUSES else None,
            "customer_card": customer_card(viewer=request.user, customer=ticket.customer, exclude_ticket_id=ticket.id),
        }
        # The reply carries the last message on the page; someone writing since stops it (DeskReply).
        seen = context["thread"][-1].id if context["thread"] else 0
        if draft is None:
            context["reply_form"] = AgentReplyForm(initial={"seen": seen})
        else:
            # Refused: the draft again, now after the newest message, so that sending it again confirms it.
            context["reply_form"] = AgentReplyForm({**draft.dict(), "seen": seen})
        context["collision"] = collision
        return render(request, "tickets/desk_detail.html", context)


class RepliedSince(Exception):
    """A reply refused because someone wrote since its page was opened (DeskReply)."""


class DeskReply(TicketActionView):
    area = "desk"
    success_message = gettext_noop("Saved.")

    def post(self, request, number: int):
        try:
            return super().post(request, number)
        except RepliedSince as refused:
            # Nothing was sent: the page with the new messages, the draft kept under the warning.
            collision = str(refused)
            if request.FILES:
                collision += " " + _("Attach your files again.")
            response = DeskTicketDetail().get(request, number, draft=request.POST, collision=collision)
            response.status_code = 409
            return response

    def act(self, request, ticket):
        form = AgentReplyForm(request.POST, request.FILES)
        if not form.is_valid():
            raise DomainError(_("Write a message first."), field="body")
        try:
            services.message_add(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                kind=form.cleaned_data["kind"],
                wait_for_customer=form.cleaned_data["wait_for_customer"],
                attachments=form.cleaned_data["attachments"],
                seen=form.cleaned_data["seen"],
            )
        except Conflict as error:
            if error.code == "replied_since":
                raise RepliedSince(error.message) from error
            raise


class DeskTake(TicketActionView):
    area = "desk"
    success_message = gettext_noop("The ticket is yours.")

    def act(self, request, ticket):
        services.ticket_take(ticket=ticket, agent=request.user)


class DeskRelease(TicketActionView):
    area = "desk"
    success_message = gettext_noop("The ticket is back in its line.")

    def act(self, request, ticket):
        services.ticket_release(ticket=ticket, agent=request.user, reason=request.POST.get("reason", ""))


class DeskTransfer(TicketActionView):
    area = "desk"
    success_message = gettext_noop("The ticket is transferred.")

    def act(self, request, ticket):
        form = TransferForm(request.POST, lines=selectors.transfer_targets(ticket=ticket))
        if not form.is_valid():
            raise DomainError(_("Choose a line and give a reason."), field="reason")
        line = Line.objects.get(code=form.cleaned_data["line"])
        services.ticket_transfer(ticket=ticket, actor=request.user, to_line=line, reason=form.cleaned_data["reason"])

    def post(self, request, number: int):
        response = super().post(request, number)
        # After a transfer the agent may no longer see the ticket: go back to the list then.
        ticket = selectors.tickets_visible_to(request.user).filter(number=number).first()
        return response if ticket is not None else redirect("desk-tickets")


class DeskPromise(TicketActionView):
    area = "desk"
    success_message = gettext_noop("The customer sees the expected time.")

    def act(self, request, ticket):
        form = PromiseForm(request.POST)
        if not form.is_valid():
            raise DomainError(_("Give a date and time."), field="promised_by")
        services.ticket_set_promise(
            ticket=ticket,
            actor=request.user,
            promised_by=form.cleaned_data["promised_by"],
            reason=form.cleaned_data["reason"],
        )


class DeskUrgency(TicketActionView):
    area = "desk"
    success_message = gettext_noop("Urgency changed.")

    def act(self, request, ticket):
        services.ticket_set_urgency(
            ticket=ticket,
            actor=request.user,
            urgency=request.POST.get("urgency", ""),
            reason=request.POST.get("reason", ""),
        )


class DeskResolve(TicketActionView):
    area = "desk"
    success_message = gettext_noop("Marked as solved; the customer is asked to confirm.")

    def act(self, request, ticket):
        services.ticket_resolve(ticket=ticket, actor=request.user)


class DeskReveal(AreaRequiredMixin, View):
    """Reveal the access data in the response only (never stored in a session or cache); audited."""

    area = "desk"

    def post(self, request, number: int):
        ticket = _get_ticket(request.user, number)
        try:
            plaintext = services.secret_reveal(ticket=ticket, actor=request.user)
        except DomainError as error:
            response = render(request, "tickets/_secret.html", {"error": error.message}, status=error.status_code)
        else:
            response = render(request, "tickets/_secret.html", {"access_data": plaintext, "ticket": ticket})
        response["Cache-Control"] = "no-store"
        return response
