"""The incidents' updates as an Atom feed (django.utils.feedgenerator)."""

from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from status.models import IncidentUpdate


def atom_feed(*, updates: list[IncidentUpdate], base_url: str, language: str) -> bytes:
    page = base_url + reverse("status-page")
    feed = Atom1Feed(
        title=_("Service status"),
        link=page,
        description=_("Incidents and their updates"),
        language=language,
        feed_url=base_url + reverse("status-feed"),
        feed_guid=page,
    )
    for update in updates:
        incident = update.incident
        feed.add_item(
            title=f"[{incident.reference}] {update.get_state_display()}: {incident.title}",
            link=f"{page}#incident-{incident.id}",
            description=update.body,
            unique_id=f"{page}#update-{update.id}",
            unique_id_is_permalink=False,
            pubdate=update.created_at,
            updateddate=update.created_at,
            categories=[str(incident.get_severity_display())],
        )
    return feed.writeString("utf-8").encode()
