"""The public help centre's contact form and the no-login follow page of a ticket."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from helpdesk import net
from helpdesk.errors import DomainError, NotFound
from knowledge import services
from knowledge.forms import ContactForm, FollowReplyForm
from knowledge.tasks import send_follow_link
from tickets import services as ticket_services


def client_ip(request) -> str:
    # The one reading of the client's address (never a client's own X-Forwarded-For).
    return net.client_ip(request) or "unknown"


class ContactView(View):
    template_name = "knowledge/contact.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ContactForm(initial={"started": services.form_token()})})

    def post(self, request):
        form = ContactForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                nonce = services.check_not_a_bot(honeypot=data["website"], token=data["started"])
                ticket = services.feedback_submit(
                    name=data["name"],
                    email=data["email"],
                    topic=data["topic"],
                    subject=data["subject"],
                    message=data["message"],
                    client_ip=client_ip(request),
                    form_nonce=nonce,
                )
            except DomainError as error:
                form.add_error(None, error.message)
                status = error.status_code
            else:
                # The link goes only to the address, by e-mail: typing an address proves nothing,
                # and the page is the same whoever the address belongs to (nobody, a customer, staff).
                link = request.build_absolute_uri(reverse("follow", args=[services.follow_token(ticket)]))
                address = services.follow_link_address(ticket, data["email"])
                transaction.on_commit(lambda: send_follow_link.delay(ticket.id, link, address))
                return render(request, "knowledge/contact_done.html", {"email": data["email"]})
        # Show what was typed again, with the errors, and a fresh timer for the next attempt.
        form.renew_timer(services.form_token())
        return render(request, self.template_name, {"form": form}, status=status)


class FollowView(View):
    """A ticket followed through its signed link: no login, only this ticket, only public messages."""

    def get_ticket(self, token):
        try:
            return services.ticket_from_follow_token(token)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    def get(self, request, token):
        # Only the owner of the ticket's address receives the link: using it verifies the sender.
        ticket = services.open_follow_link(self.get_ticket(token))
        thread = services.follow_thread(ticket)
        return render(request, "knowledge/follow.html", {"ticket": ticket, "thread": thread, "form": FollowReplyForm()})

    def post(self, request, token):
        ticket = services.open_follow_link(self.get_ticket(token))
        form = FollowReplyForm(request.POST)
        if form.is_valid():
            try:
                ticket_services.message_add(ticket=ticket, author=ticket.customer, body=form.cleaned_data["message"])
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Your message is sent."))
        return redirect("follow", token=token)
