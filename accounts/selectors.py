"""Reads of accounts, scoped by who asks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import ApiToken, CustomerProfile, Role, User
from helpdesk.errors import NotFound
from quality.models import RatedKind
from quality.selectors import ratings_visible_to
from tickets.models import OPEN_STATUSES, Category, EventKind, PackageTask, SystemReason, Ticket, TicketEvent
from tickets.selectors import tickets_visible_to


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first, expired ones included until they are cleared."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


# --- the customer at a glance (the workspace's ticket page, customer page and lookup) ---------

# Upper bounds of the spend bands, over the last 12 months, in the plans' currency.
SPEND_BANDS: list[tuple[Decimal | None, str]] = [
    (Decimal(0), "none"),
    (Decimal(10_000), "small"),
    (Decimal(100_000), "medium"),
    (Decimal(1_000_000), "large"),
    (None, "top"),
]
SPEND_BAND_LABELS = {
    "none": gettext_lazy("no spend"),
    "small": gettext_lazy("under 10,000"),
    "medium": gettext_lazy("10,000 to 100,000"),
    "large": gettext_lazy("100,000 to 1,000,000"),
    "top": gettext_lazy("over 1,000,000"),
}
FLAG_LABELS = {
    "vip": gettext_lazy("VIP"),
    "problematic": gettext_lazy("Problematic"),
    "organisation_tickets": gettext_lazy("Sees the organisation's tickets"),
}
VERDICT_LABELS = {
    "confirmed": gettext_lazy("Confirmed the solution"),
    "reopened": gettext_lazy("Reopened: not solved"),
    "not_confirmed": gettext_lazy("Did not confirm in time"),
    "like": gettext_lazy("Liked a reply"),
    "dislike": gettext_lazy("Disliked a reply"),
}
# The customer's other tickets shown beside a ticket, and their past verdicts on solutions.
CARD_TICKETS = 8
CARD_RATINGS = 8
LOOKUP_LIMIT = 10
CARD_RELATED = ("organisation", "customer_profile__support_plan", "customer_profile__admin_package")
# What a customer said of a solution, read from the status history (tickets.models.SystemReason).
VERDICT_REASONS = {
    SystemReason.CONFIRMED: "confirmed",
    SystemReason.REOPENED: "reopened",
    SystemReason.NOT_CONFIRMED: "not_confirmed",
}


def spend_band(amount: Decimal | None) -> str:
    """The band of a year's spend: none, small, medium, large or top."""
    amount = amount or Decimal(0)
    if amount <= 0:
        return "none"
    for bound, band in SPEND_BANDS[1:]:
        if bound is None or amount < bound:
            return band
    return "top"


@dataclass(frozen=True)
class Verdict:
    """A customer's word on a solution: confirmed it, reopened the ticket, or left it unconfirmed."""

    ticket_number: int
    subject: str
    verdict: str  # confirmed | reopened | not_confirmed, or like | dislike of a reply (quality)
    at: dt.datetime
    comment: str = ""

    @property
    def label(self) -> str:
        return str(VERDICT_LABELS[self.verdict])


@dataclass(frozen=True)
class CustomerCard:
    customer: User
    profile: CustomerProfile | None
    tenure_days: int | None
    spend_band: str
    currency: str
    package_tasks_used: int | None
    package_tasks_left: int | None
    flags: list[str]
    open_count: int
    total_count: int
    open_tickets: list[Ticket]
    recent_tickets: list[Ticket]
    verdicts: list[Verdict]

    @property
    def spend_band_label(self) -> str:
        return str(SPEND_BAND_LABELS[self.spend_band])

    @property
    def tenure_text(self) -> str:
        """ "3 years 2 months", "5 months", "12 days", with the language's plural forms."""
        if self.tenure_days is None:
            return ""
        years, rest = divmod(max(0, self.tenure_days), 365)
        months = rest // 30
        parts = []
        if years:
            parts.append(ngettext("%(n)d year", "%(n)d years", years) % {"n": years})
        if months:
            parts.append(ngettext("%(n)d month", "%(n)d months", months) % {"n": months})
        if not parts:
            days = self.tenure_days
            parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
        return " ".join(parts)

    @property
    def flag_items(self) -> list[tuple[str, str]]:
        return [(flag, str(FLAG_LABELS[flag])) for flag in self.flags]


def _staff_scope(viewer: User) -> QuerySet[Ticket]:
    return tickets_visible_to(viewer)


def customer_visible_to(*, viewer: User, customer_id: int) -> User:
    """The customer, if the viewer may see them: management sees every customer, an agent those
    with a ticket the agent can see (in one of their lines, or one they worked on); customers
    see nobody through these pages. NotFound otherwise, as for a ticket that is not theirs."""
    if not viewer.is_authenticated or not viewer.is_support_staff:
        raise NotFound(_("No such customer."))
    customer = User.objects.select_related(*CARD_RELATED).filter(id=customer_id, role=Role.CUSTOMER).first()
    if customer is None:
        raise NotFound(_("No such customer."))
    if not viewer.is_management and not _staff_scope(viewer).filter(customer_id=customer.id).exists():
        raise NotFound(_("No such customer."))
    return customer


def customer_card(*, viewer: User, customer: User, exclude_ticket_id: int | None = None) -> CustomerCard:
    """Everything the workspace shows about a customer, in a fixed number of queries (six,
    whatever the number of their tickets): the customer with profile, plans and organisation
    are read in one query unless they come loaded (customer_visible_to), then the counts, the
    open and the recent tickets the viewer may see, the administration tasks of the month and
    the verdicts on solutions."""
    if not (User.customer_profile.is_cached(customer) and User.organisation.is_cached(customer)):
        customer = User.objects.select_related(*CARD_RELATED).get(pk=customer.pk)
    profile: CustomerProfile | None = getattr(customer, "customer_profile", None)
    visible = _staff_scope(viewer).filter(customer_id=customer.id)
    counts = visible.aggregate(open=Count("id", filter=Q(status__in=OPEN_STATUSES)), total=Count("id"))
    listed = visible.select_related("line", "assignee__agent_profile").order_by("-last_activity_at", "-id")
    if exclude_ticket_id is not None:
        listed = listed.exclude(id=exclude_ticket_id)
    open_tickets = list(listed.filter(status__in=OPEN_STATUSES)[:CARD_TICKETS])
    recent_tickets = list(listed.exclude(status__in=OPEN_STATUSES)[:CARD_TICKETS])
    used = left = None
    package = profile.admin_package if profile is not None else None
    if package is not None and package.tasks_per_month:
        # The month as the helpdesk counts it (tickets.services), in the support team's zone.
        month_start = timezone.localtime(timezone.now(), timezone.get_default_timezone()).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        used = Ticket.objects.filter(
            customer_id=customer.id,
            category=Category.ADMIN_WORK,
            package_task=PackageTask.INCLUDED,
            created_at__gte=month_start,
        ).count()
        left = max(0, package.tasks_per_month - used)
    events = (
        TicketEvent.objects.filter(
            ticket__in=visible,
            kind=EventKind.STATUS,
            data__reason_code__in=[str(code) for code in VERDICT_REASONS],
        )
        .select_related("ticket")
        .order_by("-created_at", "-id")[:CARD_RATINGS]
    )
    verdicts = [
        Verdict(
            ticket_number=event.ticket.number,
            subject=event.ticket.subject,
            verdict=VERDICT_REASONS[SystemReason(event.data["reason_code"])],
            at=event.created_at,
        )
        for event in events
    ]
    # Their likes and dislikes of replies (quality.Rating), newest first, beside the verdicts:
    # those the viewer may see (an agent, the ratings of their own replies; reviewers, all).
    ratings = (
        ratings_visible_to(viewer)
        .filter(ticket__in=visible, rater_id=customer.id, kind=RatedKind.REPLY)
        .select_related(None)
        .select_related("ticket")
        .order_by("-updated_at", "-id")[:CARD_RATINGS]
    )
    verdicts += [
        Verdict(
            ticket_number=rating.ticket.number,
            subject=rating.ticket.subject,
            verdict=rating.verdict,
            at=rating.updated_at,
            comment=rating.comment,
        )
        for rating in ratings
        if rating.ticket is not None
    ]
    verdicts = sorted(verdicts, key=lambda verdict: verdict.at, reverse=True)[:CARD_RATINGS]
    flags = []
    if profile is not None:
        if profile.is_vip:
            flags.append("vip")
        if profile.is_problematic:
            flags.append("problematic")
        if profile.can_see_organisation_tickets:
            flags.append("organisation_tickets")
    priced = (profile.support_plan if profile is not None else None) or package
    return CustomerCard(
        customer=customer,
        profile=profile,
        tenure_days=(timezone.localdate() - profile.customer_since).days if profile is not None else None,
        spend_band=spend_band(profile.spend_12m if profile is not None else None),
        currency=priced.currency if priced is not None else "RUB",
        package_tasks_used=used,
        package_tasks_left=left,
        flags=flags,
        open_count=counts["open"],
        total_count=counts["total"],
        open_tickets=open_tickets,
        recent_tickets=recent_tickets,
        verdicts=verdicts,
    )


def customer_tickets(*, viewer: User, customer: User) -> QuerySet[Ticket]:
    """All of the customer's tickets the viewer may see, newest activity first (the customer page)."""
    return (
        _staff_scope(viewer)
        .filter(customer_id=customer.id)
        .select_related("line", "assignee__agent_profile")
        .order_by("-last_activity_at", "-id")
    )


def customer_lookup(*, viewer: User, query: str, limit: int = LOOKUP_LIMIT) -> list[User]:
    """Customers whose login, name, e-mail or organisation contains the query, for filing a
    ticket on their behalf; support staff only. Exact logins and addresses come first."""
    query = (query or "").strip()
    if not viewer.is_authenticated or not viewer.is_support_staff or len(query) < 2:
        return []
    words = query.split()
    matches = Q()
    for word in words[:4]:
        matches &= (
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(organisation__name__icontains=word)
        )
    exact = Case(
        When(Q(username__iexact=query) | Q(email__iexact=query), then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return list(
        User.objects.filter(matches, role=Role.CUSTOMER, is_active=True)
        .select_related("organisation")
        .annotate(exact=exact)
        .order_by("exact", "last_name", "first_name", "username")[:limit]
    )
