"""The public help centre's contact form and the no-login follow page of a ticket."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from helpdesk.errors import DomainError, NotFound
from knowledge import services
from knowledge.forms import ContactForm, FollowReplyForm
from knowledge.tasks import send_follow_link
from tickets import selectors as ticket_selectors
from tickets import services as ticket_services


def client_ip(request) -> str:
    # Behind a proxy the deployment sets the real address in REMOTE_ADDR (uvicorn --proxy-headers).
    return request.META.get("REMOTE_ADDR", "unknown")


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
                services.check_not_a_bot(honeypot=data["website"], token=data["started"])
                ticket = services.feedback_submit(
                    name=data["name"],
                    email=data["email"],
                    topic=data["topic"],
                    subject=data["subject"],
                    message=data["message"],
                    client_ip=client_ip(request),
                )
            except DomainError as error:
                form.add_error(None, error.message)
                status = error.status_code
            else:
                link = request.build_absolute_uri(reverse("follow", args=[services.follow_token(ticket)]))
                transaction.on_commit(lambda: send_follow_link.delay(ticket.id, link))
                return render(request, "knowledge/contact_done.html", {"ticket": ticket, "link": link})
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
        ticket = self.get_ticket(token)
        thread = ticket_selectors.ticket_thread(ticket=ticket, user=ticket.customer)
        return render(request, "knowledge/follow.html", {"ticket": ticket, "thread": thread, "form": FollowReplyForm()})

    def post(self, request, token):
        ticket = self.get_ticket(token)
        form = FollowReplyForm(request.POST)
        if form.is_valid():
            try:
                ticket_services.message_add(ticket=ticket, author=ticket.customer, body=form.cleaned_data["message"])
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Your message is sent."))
        return redirect("follow", token=token)
