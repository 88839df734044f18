"""The help centre's writes: its articles (each write with its revision, the articles' audit
trail), views, feedback, searches that found nothing, deflection events, tickets answered by
an article; and the public feedback form: a ticket without an account, and a signed link to
follow it."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import time
import uuid
from secrets import token_urlsafe
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import STAFF_ROLES, User
from accounts.services import customer_for_address, placeholder_for_staff_address
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from knowledge.models import (
    LANGUAGES,
    REVISION_FIELDS,
    Article,
    ArticleFeedback,
    ArticleRevision,
    ArticleUse,
    DeflectionEvent,
    HelpCategory,
    SearchIndexState,
    SpentFormToken,
)
from knowledge.text import plain_text
from tickets import services as ticket_services
from tickets.markdown import render_markdown
from tickets.models import Attachment, Category, Channel, Message, Ticket

# v2: the links of before were shown on the page to whoever typed the address, so they no longer open.
FOLLOW_SALT = "helpdesk.ticket-follow.v2"
FORM_SALT = "helpdesk.contact-form"
FORM_MIN_SECONDS = 3  # people need longer than this to fill the form in
FORM_MAX_SECONDS = 24 * 3600


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


def form_token() -> str:
    """When the form was shown, and a random nonce: each token serves one submission."""
    return signing.dumps({"t": int(time.time()), "n": token_urlsafe(16)}, salt=FORM_SALT)


def check_not_a_bot(*, honeypot: str, token: str) -> str:
    """Refuse what looks like a script; returns the token's nonce, for `feedback_submit` to spend."""
    if honeypot:
        raise DomainError(_("The form could not be accepted."), code="bot_suspected")
    try:
        payload = signing.loads(token, salt=FORM_SALT, max_age=FORM_MAX_SECONDS)
    except signing.BadSignature as exc:
        raise DomainError(_("The form expired; please send it again."), code="form_expired") from exc
    # A token of the old shape (a bare time, the same for everyone in that second) is refused
    # like an expired one: the page comes back with a new token.
    started, nonce = (payload.get("t"), payload.get("n")) if isinstance(payload, dict) else (None, None)
    if not isinstance(started, int) or not isinstance(nonce, str) or not nonce:
        raise DomainError(_("The form expired; please send it again."), code="form_expired")
    if time.time() - started < FORM_MIN_SECONDS:
        raise DomainError(_("That was too fast; please send the form again."), code="bot_suspected")
    return nonce


def spend_form_token(nonce: str) -> None:
    """Mark a form token used; refused when it was used before. Inside the submission's
    transaction, so a submission that fails leaves the token usable, and of two concurrent
    submissions with one token the second waits for the first and is refused if it went through."""
    now = timezone.now()
    SpentFormToken.objects.filter(spent_at__lt=now - dt.timedelta(seconds=FORM_MAX_SECONDS + 3600)).delete()
    try:
        with transaction.atomic():
            SpentFormToken.objects.create(nonce=nonce, spent_at=now)
    except IntegrityError as exc:
        raise DomainError(
            _("This form has already been sent. To write to us again, send it once more."), code="form_used"
        ) from exc


def check_rate(*, key: str, limit: int, window_seconds: int) -> None:
    """At most `limit` submissions per `window_seconds` for this key (an IP or an address)."""
    cache_key = f"contact-rate:{key}"
    cache.add(cache_key, 0, window_seconds)
    if cache.incr(cache_key) > limit:
        raise RateLimited(_("Too many requests from you; please try again in an hour."))


def follow_token(ticket: Ticket) -> str:
    return signing.TimestampSigner(salt=FOLLOW_SALT).sign(str(ticket.number))


def ticket_from_follow_token(token: str) -> Ticket:
    """The ticket of a follow link; NotFound for a tampered or expired link."""
    try:
        number = signing.TimestampSigner(salt=FOLLOW_SALT).unsign(token, max_age=settings.FOLLOW_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise NotFound(_("This link has expired; write to us again or sign in."), code="link_expired") from exc
    except signing.BadSignature as exc:
        raise NotFound(_("This link is not valid."), code="link_invalid") from exc
    ticket = Ticket.objects.select_related("line", "customer").filter(number=int(number)).first()
    if ticket is None:
        raise NotFound(_("This link is not valid."), code="link_invalid")
    return ticket


@transaction.atomic
def feedback_submit(
    *, name: str, email: str, topic: str, subject: str, message: str, client_ip: str, form_nonce: str
) -> Ticket:
    """A ticket from the anonymous form, filed for the account with this e-mail when there is one.

    Typing an address proves nothing, so the ticket is from an unverified sender until the follow
    link, mailed only to that address, is used. Whatever the address belongs to (a customer, a
    deactivated one, staff, nobody) the same steps run and the caller gets the same answer."""
    check_rate(key=f"ip:{client_ip}", limit=settings.CONTACT_RATE_PER_HOUR, window_seconds=3600)
    check_rate(key=f"email:{email.lower()}", limit=settings.CONTACT_RATE_PER_HOUR, window_seconds=3600)
    spend_form_token(form_nonce)
    customer, _matched = customer_for_address(email=email, name=name)
    if not customer.is_customer:
        # A staff member's address: staff never own tickets (and refusing would tell the visitor
        # whose address it is), so it is filed like mail from that address, for a placeholder.
        customer = placeholder_for_staff_address(email=email, name=name)
    return ticket_services.ticket_create(
        customer=customer,
        created_by=None,
        channel=Channel.FORM,
        subject=subject,
        body=message,
        category=topic,
        allow_inactive=True,
        sender_verified=False,
    )


def follow_link_address(ticket: Ticket, typed: str) -> str:
    """Where the follow link of a form ticket goes: the address of the ticket's account, or the
    typed one when the account has none (the placeholder of a staff address). Never shown."""
    return ticket.customer.email or typed


def open_follow_link(ticket: Ticket) -> Ticket:
    """The follow link was used: it reaches only the ticket's address, so its sender is verified."""
    if ticket.sender_verified:
        return ticket
    verified = ticket_services.ticket_verify_sender(ticket=ticket, via="follow_link")
    ticket.sender_verified, ticket.sender_verified_at = verified.sender_verified, verified.sender_verified_at
    return ticket


def follow_thread(ticket: Ticket) -> list[Message]:
    """What the follow page shows: the public replies of this ticket, nothing of the account."""
    return list(
        ticket.messages.filter(kind=Message.Kind.PUBLIC)
        .select_related("author__agent_profile")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    )


# --- the help centre's articles ------------------------------------------------------------

audit_log = logging.getLogger("helpdesk.audit.knowledge")

SEARCH_QUERY_MAX = 200
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EDITABLE_FIELDS = REVISION_FIELDS
# Search engines, link checkers, monitoring and scripts: their visits are not views.
BOT_RE = re.compile(
    r"bot|crawl|spider|slurp|preview|monitor|headless|curl|wget|python-|httpclient|java/|go-http|okhttp|scrapy|"
    r"facebookexternalhit|lighthouse|pingdom|uptime",
    re.IGNORECASE,
)
# A reader who opens the same article again within this time is not counted again (reloads).
VIEW_REPEAT_SECONDS = 30 * 60


def _is_staff(user: User | None) -> bool:
    return bool(user is not None and user.is_active and user.role in STAFF_ROLES)


def touch_search_index() -> None:
    """Tell every process that the articles changed: their vocabularies are rebuilt on next use."""
    SearchIndexState.objects.update_or_create(pk=1, defaults={"version": secrets.randbits(62)})


def _plain(body: str) -> str:
    return plain_text(str(render_markdown(body)))


def _snapshot(article: Article) -> dict[str, Any]:
    return {name: getattr(article, name) for name in REVISION_FIELDS}


def _check(article: Article) -> None:
    if not SLUG_RE.match(article.slug or ""):
        raise DomainError(_("The address may hold only small Latin letters, digits and single hyphens."), field="slug")
    if Article.objects.filter(slug=article.slug).exclude(pk=article.pk).exists():
        raise DomainError(_("Another article has this address."), code="slug_taken", field="slug")
    written = [lang for lang in LANGUAGES if getattr(article, f"title_{lang}").strip()]
    if not written:
        raise DomainError(_("Give the article a title in at least one language."), field="title_en")
    for lang in written:
        if not getattr(article, f"body_{lang}").strip():
            raise DomainError(_("An article with a title needs a text in the same language."), field=f"body_{lang}")
    for lang in LANGUAGES:
        if getattr(article, f"body_{lang}").strip() and not getattr(article, f"title_{lang}").strip():
            raise DomainError(_("A text needs its title in the same language."), field=f"title_{lang}")


def _save_with_revision(
    *, article: Article, author: User | None, action: str, changed: list[str], note: str, restored_from: int | None
) -> Article:
    now = timezone.now()
    for lang in LANGUAGES:
        setattr(article, f"plain_{lang}", _plain(getattr(article, f"body_{lang}")))
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = now
    article.updated_at = now
    article.updated_by = author
    if article.pk is None:
        article.created_by = author
        article.created_at = now
    article.save()
    number = (article.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    ArticleRevision.objects.create(
        article=article,
        number=number,
        action=action,
        author=author,
        created_at=now,
        changed=changed,
        note=note[:300],
        restored_from=restored_from,
        data=_snapshot(article),
    )
    touch_search_index()
    return article


@transaction.atomic
def article_create(
    *,
    author: User | None,
    category: HelpCategory,
    slug: str,
    title_en: str = "",
    body_en: str = "",
    title_ru: str = "",
    body_ru: str = "",
    kind: str = Article.Kind.GUIDE,
    status: str = Article.Status.DRAFT,
    visibility: str = Article.Visibility.PUBLIC,
    position: int = 100,
    note: str = "",
) -> Article:
    """A new article, with its first revision. `author` None: the system (the demo loader)."""
    if author is not None and not _is_staff(author):
        raise PermissionDenied(_("Only support staff may write articles."))
    article = Article(
        category=category, slug=slug, title_en=title_en.strip(), body_en=body_en, title_ru=title_ru.strip(),
        body_ru=body_ru, kind=kind, status=status, visibility=visibility, position=position,
    )  # fmt: skip
    _check(article)
    return _save_with_revision(
        article=article, author=author, action=ArticleRevision.Action.CREATED, changed=list(REVISION_FIELDS),
        note=note, restored_from=None,
    )  # fmt: skip


@transaction.atomic
def article_update(*, article: Article, author: User | None, note: str = "", **changes: Any) -> Article:
    """Change an article's fields; a new revision records who changed which. Nothing changed: no revision."""
    if author is not None and not _is_staff(author):
        raise PermissionDenied(_("Only support staff may edit articles."))
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"category"}
    if unknown:
        raise DomainError(_("These fields cannot be changed: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    locked = Article.objects.select_for_update().get(pk=article.pk)
    if "category" in changes:
        changes["category_id"] = changes.pop("category").pk
    changed = []
    for name, value in changes.items():
        if isinstance(value, str) and name.startswith("title_"):
            value = value.strip()
        if getattr(locked, name) != value:
            setattr(locked, name, value)
            changed.append(name)
    if not changed:
        return locked
    _check(locked)
    return _save_with_revision(
        article=locked, author=author, action=ArticleRevision.Action.EDITED, changed=changed, note=note,
        restored_from=None,
    )  # fmt: skip


@transaction.atomic
def article_restore(*, article: Article, author: User, number: int) -> Article:
    """Put an earlier revision's content back, as a new revision (the history keeps everything)."""
    if not _is_staff(author):
        raise PermissionDenied(_("Only support staff may edit articles."))
    locked = Article.objects.select_for_update().get(pk=article.pk)
    revision = locked.revisions.filter(number=number).first()
    if revision is None:
        raise NotFound(_("No such revision."))
    changed = []
    for name in REVISION_FIELDS:
        if name not in revision.data:
            continue
        value = revision.data[name]
        if name == "category_id" and not HelpCategory.objects.filter(pk=value).exists():
            continue  # the category is gone; the article stays where it is
        if getattr(locked, name) != value:
            setattr(locked, name, value)
            changed.append(name)
    if not changed:
        raise Conflict(_("The article is already as in that revision."), code="nothing_to_restore")
    _check(locked)
    audit_log.info("article.restored article=%s revision=%s by=%s", locked.pk, number, author.pk)
    return _save_with_revision(
        article=locked, author=author, action=ArticleRevision.Action.RESTORED, changed=changed,
        note=_("Restored revision %(number)s") % {"number": number}, restored_from=number,
    )  # fmt: skip


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOT_RE.search(user_agent))


def reader_key(*, user: User | None, session_key: str | None, client_ip: str, user_agent: str) -> str:
    """Who reads, as a digest: the account, else the browser session, else the address and browser."""
    if user is not None and user.is_authenticated:
        raw = f"user:{user.pk}"
    elif session_key:
        raw = f"session:{session_key}"
    else:
        raw = f"client:{client_ip}:{user_agent}"
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def article_record_view(*, article: Article, reader: str, user_agent: str) -> bool:
    """Count a view of an article: not a bot's, and once per reader within half an hour.
    Returns whether it counted."""
    if is_bot(user_agent):
        return False
    if not cache.add(f"knowledge:view:{article.pk}:{reader}", 1, VIEW_REPEAT_SECONDS):
        return False
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO knowledge_articleviewday (article_id, day, views) VALUES (%s, %s, 1) "
            "ON CONFLICT (article_id, day) DO UPDATE SET views = knowledge_articleviewday.views + 1",
            [article.pk, timezone.localdate()],
        )
    return True


@transaction.atomic
def article_feedback_give(
    *, article: Article, reader: str, helpful: bool, comment: str = "", language: str, user: User | None = None
) -> ArticleFeedback:
    """ "Was this helpful?": one answer per reader and article; answering again replaces it."""
    if article.status != Article.Status.PUBLISHED:
        raise NotFound(_("No such article."))
    comment = comment.strip()[:2000]
    now = timezone.now()
    feedback, created = ArticleFeedback.objects.select_for_update().get_or_create(
        article=article,
        reader=reader,
        defaults={"helpful": helpful, "comment": comment, "language": language, "user": user, "created_at": now},
    )
    if not created:
        feedback.helpful = helpful
        # A second answer without a comment (the buttons again) keeps the comment given before.
        feedback.comment = comment or feedback.comment
        feedback.language = language
        feedback.updated_at = now
        feedback.save(update_fields=["helpful", "comment", "language", "updated_at"])
    return feedback


def search_miss_record(*, query: str, language: str) -> None:
    """Remember a search that found nothing, for the people who keep the guides."""
    text = " ".join(query.lower().split())[:200]
    if len(text) < 2:
        return
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO knowledge_searchmiss (query, language, count, first_at, last_at) VALUES (%s, %s, 1, %s, %s) "
            "ON CONFLICT (query, language) DO UPDATE SET count = knowledge_searchmiss.count + 1, last_at = %s",
            [text, language, now, now, now],
        )


def deflection_record(
    *, attempt: uuid.UUID, kind: str, articles: list[Article], ticket_category: str, user: User | None
) -> None:
    """Record what happened to suggestions in one visit to the ticket form; an event already
    recorded for that visit and article is not counted twice."""
    if kind not in DeflectionEvent.Kind.values:
        raise DomainError(_("Unknown kind of event."))
    if ticket_category not in Category.values:
        ticket_category = ""
    rows = [
        DeflectionEvent(attempt=attempt, kind=kind, article=article, ticket_category=ticket_category, user=user)
        for article in articles
    ]
    DeflectionEvent.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def article_use_mark(*, ticket: Ticket, article: Article, agent: User) -> ArticleUse:
    """An agent marks a ticket as answered by an article (once per ticket and article)."""
    if not _is_staff(agent):
        raise PermissionDenied(_("Only support staff may do this."))
    if article.status != Article.Status.PUBLISHED:
        raise Conflict(_("Only a published article can answer a ticket."), code="not_published")
    use, created = ArticleUse.objects.get_or_create(ticket=ticket, article=article, defaults={"agent": agent})
    if created:
        audit_log.info("article_use.marked ticket=%s article=%s by=%s", ticket.number, article.pk, agent.pk)
    return use


@transaction.atomic
def article_use_unmark(*, ticket: Ticket, article: Article, agent: User) -> None:
    if not _is_staff(agent):
        raise PermissionDenied(_("Only support staff may do this."))
    deleted, _rows = ArticleUse.objects.filter(ticket=ticket, article=article).delete()
    if deleted:
        audit_log.info("article_use.unmarked ticket=%s article=%s by=%s", ticket.number, article.pk, agent.pk)
