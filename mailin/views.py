"""The workspace's page about mail (/desk/mail/): messages kept without a ticket, which the
MTA was told were delivered, and addresses not mailed any more after hard bounces."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from accounts.permissions import AreaRequiredMixin
from helpdesk.errors import NotFound
from mailin import selectors, services
from mailin.models import InboundMessage
from notifications import services as notification_services
from notifications.models import BouncedAddress


class DeskMail(AreaRequiredMixin, View):
    area = "desk"

    def get(self, request):
        kept = selectors.kept_without_ticket(user=request.user)
        return render(
            request,
            "mailin/desk_mail.html",
            {
                "kept": kept[: selectors.KEPT_SHOWN],
                "kept_count": kept.count(),
                "suppressed": selectors.suppressed_addresses(),
            },
        )


class DeskMailDismiss(AreaRequiredMixin, View):
    area = "desk"

    def post(self, request, pk: int):
        inbound = get_object_or_404(InboundMessage, pk=pk)
        try:
            services.kept_dismiss(inbound_message=inbound, actor=request.user)
        except NotFound as exc:
            messages.error(request, exc.message)
        return redirect("desk-mail")


class DeskMailClearAddress(AreaRequiredMixin, View):
    area = "desk"

    def post(self, request, pk: int):
        address = get_object_or_404(BouncedAddress, pk=pk)
        notification_services.bounced_address_clear(address=address, actor=request.user)
        messages.success(request, _("%(address)s is mailed again.") % {"address": address.email})
        back = request.POST.get("next", "")
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(back)
        return redirect("desk-mail")
