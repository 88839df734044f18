"""The quality desk's demo data: ratings of the latest replies, reviews, a settled dispute; once."""

import pytest

from quality.demo import upsert_demo_quality
from quality.models import Dispute, QualityEvent, Rating, Review
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def test_the_demo_rates_reviews_and_is_written_once(world):
    for number in range(12):
        ticket_services.message_add(ticket=world["ticket"], author=world["bob"], body=f"Answer {number}")
    written = upsert_demo_quality(seed=3)
    # Every agent reply of the customer's ticket: ann's two and bob's twelve.
    assert written == Rating.objects.count() == 14
    assert Review.objects.exists() and QualityEvent.objects.count() > written
    assert Rating.objects.filter(verdict="dislike").exists() == Dispute.objects.exists()
    assert upsert_demo_quality(seed=3) == 0 and Rating.objects.count() == 14
