"""The answering engine's API: the best articles with a confidence, and "don't know" below
the threshold so a bot hands over to a person; scoped by who asks."""

import pytest
from django.urls import reverse

from knowledge.models import Article, SearchMiss
from knowledge.tests.factories import article

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(db):
    article(
        "apache-down",
        title_en="Apache does not start: AH00072",
        body_en="Port 80 is taken by nginx.",
        title_ru="Apache не запускается: AH00072",
        body_ru="Порт 80 занят nginx.",
    )
    article("mail-setup", title_en="Setting up mail in Outlook", body_en="IMAP port 993.")
    article("internal-apache", visibility=Article.Visibility.INTERNAL, title_en="Internal: Apache on old servers",
            body_en="Apache start scripts on the old servers.")  # fmt: skip


def test_a_confident_answer(articles, client):
    body = client.get(reverse("api:knowledge-answer"), {"q": "apache does not start AH00072", "lang": "en"}).json()
    assert body["confident"] is True and body["confidence"] >= body["threshold"]
    assert body["articles"][0]["slug"] == "apache-down"
    assert body["articles"][0]["url"].endswith("/help/hosting/apache-down/")
    assert "internal-apache" not in [a["slug"] for a in body["articles"]]


def test_dont_know_below_the_threshold(articles, client):
    body = client.get(reverse("api:knowledge-answer"), {"q": "do you sell gift cards", "lang": "en"}).json()
    assert body["confident"] is False
    assert SearchMiss.objects.filter(query="do you sell gift cards").exists()


def test_the_reader_language_and_the_question_as_understood(articles, client):
    body = client.get(reverse("api:knowledge-answer"), {"q": "апач не запускаеться", "lang": "ru"}).json()
    assert body["language"] == "ru" and body["articles"][0]["title"].startswith("Apache не запускается")


def test_staff_also_get_internal_articles(articles, client, agent):
    client.force_login(agent)
    body = client.get(reverse("api:knowledge-answer"), {"q": "apache old servers", "lang": "en"}).json()
    assert "internal-apache" in [a["slug"] for a in body["articles"]]


def test_bad_input_is_refused(client):
    response = client.get(reverse("api:knowledge-answer"), {"lang": "de"})
    assert response.status_code == 400 and response.json()["field"] in ("q", "lang")


def test_articles_and_search(articles, client):
    listed = client.get(reverse("api:knowledge-articles")).json()
    assert [a["slug"] for a in listed] == ["apache-down", "mail-setup"]
    found = client.get(reverse("api:knowledge-articles"), {"q": "outlok", "lang": "en"}).json()
    assert found[0]["slug"] == "mail-setup"
    detail = client.get(reverse("api:knowledge-article", args=["apache-down"]), {"lang": "ru"}).json()
    assert detail["language"] == "ru" and "<p>" in detail["body_html"]
    assert client.get(reverse("api:knowledge-article", args=["internal-apache"])).status_code == 404
