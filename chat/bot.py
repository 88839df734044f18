"""The chat's bot: it answers from the help centre's answering engine (knowledge.selectors.answer)
and tells about the incidents under way (status.selectors.active_incidents). It writes nothing:
chat.services stores what it says. Below the engine's threshold it does not know and says so,
and the chat goes on to a person."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import User
from knowledge.selectors import answer
from status.selectors import active_incidents


@dataclass(frozen=True)
class BotReply:
    knows: bool
    body: str
    data: dict = field(default_factory=dict)


def incidents(language: str) -> list[dict]:
    """The incidents not yet resolved, as the chat shows them (title and the status page's link)."""
    url = reverse("status-page")
    return [
        {"id": found.id, "title": found.title, "severity": found.severity, "url": url} for found in active_incidents()
    ]


def greeting(*, language: str) -> BotReply:
    """The bot's first words, with the incidents under way when there are any."""
    with override(language):
        body = _("Hello! Ask your question and I will look for an answer in the help centre.")
        current = incidents(language)
        if current:
            body += " " + _("Known problems right now: see the list below and the status page.")
        return BotReply(knows=True, body=body, data={"incidents": current} if current else {})


def reply(*, question: str, language: str, user: User | None) -> BotReply:
    """The bot's answer to a question: the articles with their titles and links when the engine
    is confident, otherwise "don't know" (`knows` False), which offers a person."""
    with override(language):
        found = answer(user=user, question=question[:500], language=language, limit=3)
        current = incidents(language)
        data: dict = {"incidents": current} if current else {}
        if not found.confident or not found.hits:
            body = _("I don't know the answer to that. I can pass you on to a person from our support team.")
            return BotReply(knows=False, body=body, data={**data, "handoff": True})
        data["articles"] = [
            {
                "title": hit.title,
                "url": reverse("help-article", args=[hit.article.category.slug, hit.article.slug]),
                "confidence": round(hit.confidence, 2),
            }
            for hit in found.hits
            if hit.confidence >= found.threshold or hit is found.hits[0]
        ]
        body = _("These articles of the help centre may answer your question:")
        return BotReply(knows=True, body=body, data=data)
