"""The chat's pages: the customer's widget (control panel and public help centre) and the
agents' console. Thin: the pages load chat/static/chat/chat.js, which talks to the socket
(chat.consumers) and the API (chat.api); the console's side panel reads chat.selectors."""

import re

from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from accounts.permissions import AreaRequiredMixin
from chat import selectors
from chat.policy import Participant
from helpdesk.errors import NotFound
from tickets.models import Category

PLACEHOLDER = re.compile(r"\{(customer_name|ticket_number|agent_name)\}")


def strings() -> dict:
    """The words the script shows, in the page's language."""
    return {
        "you": _("You"),
        "bot": _("Bot"),
        "send": _("Send"),
        "typing": _("typing…"),
        "read": _("Read"),
        "connecting": _("Connecting…"),
        "lost": _("Connection lost. Reconnecting in %(seconds)s s…"),
        "online": _("Connected"),
        "position": _("You are number %(position)s in the queue."),
        "with_agent": _("You are talking to %(name)s."),
        "offline": _("Our agents are not at work now. Leave us a message and we will answer by e-mail."),
        "closed": _("The chat is closed."),
        "ticket": _("Request #%(number)s"),
        "rated": _("Thank you for your rating."),
        "wait": _("waiting %(time)s"),
        "nothing_waiting": _("No chats are waiting."),
        "no_chats": _("Accept a waiting chat to start."),
        "error": _("Error"),
        "accept": _("Accept"),
        "like": _("Like"),
        "dislike": _("Dislike"),
    }


class PanelChat(AreaRequiredMixin, TemplateView):
    """The widget in the control panel, for the signed-in customer."""

    area = "panel"
    template_name = "chat/widget.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(mode="panel", strings=strings(), **kwargs)


class PublicChat(TemplateView):
    """The widget on the public help centre: a visitor gives a name and an e-mail address."""

    template_name = "chat/widget.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        mode = "panel" if user.is_authenticated and user.is_customer else "public"
        return super().get_context_data(mode=mode, strings=strings(), **kwargs)


class DeskConsole(AreaRequiredMixin, TemplateView):
    """The agents' console: waiting chats in order, several chats at once, and beside each its
    customer's tickets, the line's reply templates, transfer, convert and close."""

    area = "desk"
    template_name = "chat/console.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(strings=strings(), categories=Category.choices, **kwargs)


class DeskChatContext(AreaRequiredMixin, View):
    """What the console shows beside one chat (JSON): the customer's tickets, the reply templates
    of the chat's line with their placeholders filled in, and whom the chat may go to."""

    area = "desk"

    def get(self, request, chat_id: int):
        try:
            chat = selectors.chat_get(who=Participant(user=request.user), chat_id=chat_id)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        agent_name = request.user.first_name or request.user.display_name
        values = {"customer_name": chat.customer_name, "ticket_number": "", "agent_name": agent_name}
        templates = [
            {"title": t.title, "body": PLACEHOLDER.sub(lambda m: str(values[m[1]]), t.body)}
            for t in selectors.reply_templates(chat=chat, language=get_language() or "en")
        ]
        tickets = [
            {
                "number": t.number,
                "subject": t.subject,
                "status": t.get_status_display(),
                "url": reverse("desk-ticket", args=[t.number]),
            }
            for t in selectors.customer_tickets(chat=chat, user=request.user)
        ]
        agents, lines = selectors.transfer_targets(chat=chat)
        return JsonResponse(
            {
                "chat": chat.pk,
                "customer": {"name": chat.customer_name, "email": chat.customer_email},
                "templates": templates,
                "tickets": tickets,
                "agents": [{"id": a.pk, "name": a.get_full_name() or a.username} for a in agents],
                "lines": [{"id": line.pk, "name": line.localized_name(get_language())} for line in lines],
            }
        )
