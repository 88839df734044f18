"""The status page (public), the panel's incident check and subscriptions, and the workspace's
incident pages. Thin: each view validates, calls one service or selector, renders."""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABCMeta, abstractmethod

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_GET

from accounts.permissions import AreaRequiredMixin
from helpdesk.errors import DomainError
from status import selectors, services
from status.feeds import atom_feed
from status.forms import IncidentForm, LinkForm, MaintenanceForm, ResolveForm, UpdateForm
from status.models import Incident, Maintenance, ReplyState, SubscriptionVia
from status.tasks import start_answering
from tickets.selectors import tickets_visible_to

# Shared caches may keep the public answers this long; a change is on the page at the next
# request that reaches us (the cached copy is keyed on the status's version).
PUBLIC_MAX_AGE = 15
# The page is rendered again at least once a minute: an open incident's duration and the
# maintenance that starts or ends move with the clock.
RENDER_SECONDS = 60
LINKED_PAGE_SIZE = 50


# --- the public status page ----------------------------------------------------------------


def _language(request) -> str:
    """?lang= picks the language of the public pages (they carry no form to switch it)."""
    asked = request.GET.get("lang", "")
    codes = [code for code, _name in settings.LANGUAGES]
    return asked if asked in codes else translation.get_language()


def _cached(request, kind: str, content_type: str, build) -> HttpResponse:
    """A public answer rendered once per status version, language and minute, from the cache;
    with an ETag (a matching If-None-Match gets 304) and a short public lifetime."""
    language = _language(request)
    bucket = int(time.time() // RENDER_SECONDS)
    key = f"status:{kind}:{selectors.status_version()}:{language}:{bucket}"
    entry = cache.get(key)
    if entry is None:
        with translation.override(language):
            body = build(language)
        entry = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        cache.set(key, entry, RENDER_SECONDS * 2)
    body, etag = entry
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    response["Content-Language"] = language
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


@require_GET
def status_page(request):
    def build(language: str) -> bytes:
        summary = selectors.status_summary(language=language)
        context = {"summary": summary, "language": language, "languages": settings.LANGUAGES}
        return render_to_string("status/page.html", context).encode()

    return _cached(request, "page", "text/html; charset=utf-8", build)


@require_GET
def status_json(request):
    def build(language: str) -> bytes:
        return json.dumps(selectors.status_summary(language=language), ensure_ascii=False).encode()

    return _cached(request, "json", "application/json", build)


@require_GET
def status_feed(request):
    def build(language: str) -> bytes:
        base = settings.SITE_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/")
        return atom_feed(updates=selectors.recent_updates(), base_url=base, language=language)

    return _cached(request, "feed", "application/atom+xml; charset=utf-8", build)


class Unsubscribe(View):
    """The link in every update e-mail: a page that asks, then a POST that unsubscribes."""

    def _subscription(self, token: str):
        try:
            return services.subscription_for_token(token)
        except DomainError as error:
            raise Http404(error.message) from error

    def get(self, request, token: str):
        subscription = self._subscription(token)
        return render(request, "status/unsubscribe.html", {"subscription": subscription, "done": False})

    def post(self, request, token: str):
        subscription = services.subscription_cancel(subscription=self._subscription(token))
        return render(request, "status/unsubscribe.html", {"subscription": subscription, "done": True})


# --- the control panel ---------------------------------------------------------------------


class PanelServiceCheck(AreaRequiredMixin, View):
    """The ticket form asks, as the customer picks a service, whether it is under an incident."""

    area = "panel"

    def get(self, request):
        text = request.GET.get("service", "")[:200]
        component = selectors.component_for_text(text) if text.strip() else None
        incidents = selectors.incidents_for_component(component=component, user=request.user) if component else []
        return render(request, "status/_service_check.html", {"component": component, "incidents": incidents})


class PanelSubscribe(AreaRequiredMixin, View):
    area = "panel"

    def post(self, request, incident_id: int):
        incident = get_object_or_404(Incident, pk=incident_id)
        via = request.POST.get("via", SubscriptionVia.BANNER)
        try:
            _subscription, _created = services.subscription_create(incident=incident, user=request.user, via=via)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("panel")
        if via == SubscriptionVia.TICKET_FORM:
            messages.success(
                request,
                _("We will e-mail you every update on “%(title)s”; no need to file a ticket.")
                % {"title": incident.title},
            )
            return redirect("panel")
        messages.success(request, _("We will e-mail you every update on “%(title)s”.") % {"title": incident.title})
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/panel/") else "panel")


# --- the workspace ---------------------------------------------------------------------------


class DeskIncidents(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request):
        incidents = selectors.incident_list()
        context = {
            "active": [incident for incident in incidents if incident.is_active],
            "recent": [incident for incident in incidents[:50] if not incident.is_active],
            "maintenance": selectors.maintenance_list()[:20],
        }
        return render(request, "status/desk_list.html", context)


class DeskIncidentCreate(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request):
        return render(request, "status/desk_new.html", {"form": IncidentForm(), "kind": "incident"})

    def post(self, request):
        form = IncidentForm(request.POST)
        if form.is_valid():
            try:
                incident, _created = services.incident_open(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("%(reference)s is open.") % {"reference": incident.reference})
                return redirect("desk-incident", incident_id=incident.id)
        return render(request, "status/desk_new.html", {"form": form, "kind": "incident"}, status=400)


class DeskMaintenanceCreate(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request):
        return render(request, "status/desk_new.html", {"form": MaintenanceForm(), "kind": "maintenance"})

    def post(self, request):
        form = MaintenanceForm(request.POST)
        if form.is_valid():
            try:
                services.maintenance_plan(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("The maintenance is announced."))
                return redirect("desk-incidents")
        return render(request, "status/desk_new.html", {"form": form, "kind": "maintenance"}, status=400)


class DeskMaintenanceCancel(AreaRequiredMixin, View):
    area = "desk"

    def post(self, request, maintenance_id: int):
        window = get_object_or_404(Maintenance, pk=maintenance_id)
        try:
            services.maintenance_cancel(maintenance=window, actor=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The maintenance is cancelled."))
        return redirect("desk-incidents")


def _linked_page(request, incident: Incident):
    paginator = Paginator(selectors.incident_tickets(incident=incident), LINKED_PAGE_SIZE)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except (EmptyPage, PageNotAnInteger) as exc:
        raise Http404(_("No such page.")) from exc


class DeskIncidentDetail(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request, incident_id: int):
        incident = get_object_or_404(Incident.objects.prefetch_related("components__service"), pk=incident_id)
        context = {
            "incident": incident,
            "updates": incident.updates.select_related("author").order_by("-created_at", "-id"),
            "linked": _linked_page(request, incident),
            "candidates": selectors.link_candidates(incident=incident) if incident.is_active else [],
            "deflections": selectors.deflection_count(incident=incident),
            "running": incident.reply_state == ReplyState.RUNNING,
            "subscribers": incident.subscriptions.filter(cancelled_at__isnull=True).count(),
            "update_form": UpdateForm(initial={"state": incident.state}),
            "resolve_form": ResolveForm(),
            "link_form": LinkForm(),
        }
        return render(request, "status/desk_detail.html", context)


class IncidentAction(AreaRequiredMixin, View, metaclass=ABCMeta):
    """POST actions on one incident: run the service, say what happened, go back."""

    area = "desk"

    def post(self, request, incident_id: int):
        incident = get_object_or_404(Incident, pk=incident_id)
        try:
            self.act(request, incident)
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("desk-incident", incident_id=incident.id)

    @abstractmethod
    def act(self, request, incident: Incident) -> None:
        """Run the action's service for `incident`; DomainError becomes a message on the page."""


class DeskIncidentUpdate(IncidentAction):
    def act(self, request, incident):
        form = UpdateForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the state and the text of the update."))
            return
        services.incident_update(incident=incident, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The update is published."))


class DeskIncidentResolve(IncidentAction):
    def act(self, request, incident):
        form = ResolveForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the resolution's text."))
            return
        services.incident_resolve(incident=incident, actor=request.user, **form.cleaned_data)
        start_answering(incident.id)
        messages.success(request, _("The incident is resolved."))


def _chosen_tickets(request, numbers: list[int]):
    numbers = numbers + [int(value) for value in request.POST.getlist("ticket") if value.isascii() and value.isdigit()]
    found = list(tickets_visible_to(request.user).filter(number__in=numbers).order_by("number"))
    missing = sorted(set(numbers) - {ticket.number for ticket in found})
    return found, missing


class DeskIncidentLink(IncidentAction):
    def act(self, request, incident):
        form = LinkForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("numbers", [])))
            return
        tickets, missing = _chosen_tickets(request, form.cleaned_data["numbers"])
        linked, refused = services.tickets_link(incident=incident, tickets=tickets, actor=request.user)
        messages.success(request, _("Tickets linked: %(count)s.") % {"count": linked})
        for line in refused + [_("#%(number)s: no such ticket.") % {"number": number} for number in missing]:
            messages.error(request, line)


class DeskIncidentUnlink(IncidentAction):
    def act(self, request, incident):
        tickets, _missing = _chosen_tickets(request, [])
        unlinked, refused = services.tickets_unlink(incident=incident, tickets=tickets, actor=request.user)
        messages.success(request, _("Tickets unlinked: %(count)s.") % {"count": unlinked})
        for line in refused:
            messages.error(request, line)


class DeskIncidentProgress(AreaRequiredMixin, View):
    """The resolution's pass over the tickets, polled by the incident page while it runs."""

    area = "desk"

    def get(self, request, incident_id: int):
        incident = get_object_or_404(Incident, pk=incident_id)
        return render(
            request,
            "status/_progress.html",
            {"incident": incident, "running": incident.reply_state == ReplyState.RUNNING},
        )
