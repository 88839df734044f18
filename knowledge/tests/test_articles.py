"""Articles: revisions (who changed what, restore), validation, views, feedback, the pages in
the three places, editing in the workspace and the admin, and tickets answered by an article."""

import pytest
from django.urls import reverse

from helpdesk.errors import Conflict, DomainError, PermissionDenied
from knowledge import selectors, services
from knowledge.models import Article, ArticleRevision, ArticleUse, ArticleViewDay
from knowledge.tests.factories import article, help_category
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture
def guide(db):
    return article(
        "change-php-version",
        title_en="Changing the PHP version",
        body_en="Open **Sites → PHP** and choose the version.\n\n<script>alert(1)</script>",
        title_ru="Как сменить версию PHP",
        body_ru="Откройте **Сайты → PHP** и выберите версию.",
    )


def test_a_new_article_has_its_first_revision_and_plain_text(guide):
    (revision,) = guide.revisions.all()
    assert (revision.number, revision.action, revision.author) == (1, ArticleRevision.Action.CREATED, None)
    assert revision.data["title_en"] == "Changing the PHP version"
    assert "**" not in guide.plain_en and "Sites → PHP" in guide.plain_en


def test_each_change_is_a_revision_with_who_and_what(guide, agent):
    services.article_update(article=guide, author=agent, title_en="Changing PHP versions", note="shorter")
    services.article_update(article=guide, author=agent, title_en="Changing PHP versions")  # nothing changed
    latest = guide.revisions.order_by("-number").first()
    assert (latest.number, latest.author, latest.changed, latest.note) == (2, agent, ["title_en"], "shorter")
    assert guide.revisions.count() == 2


def test_an_old_revision_can_be_restored(guide, agent):
    services.article_update(article=guide, author=agent, title_en="Wrong title", status=Article.Status.DRAFT)
    restored = services.article_restore(article=guide, author=agent, number=1)
    assert (restored.title_en, restored.status) == ("Changing the PHP version", Article.Status.PUBLISHED)
    latest = guide.revisions.order_by("-number").first()
    assert (latest.number, latest.action, latest.restored_from) == (3, ArticleRevision.Action.RESTORED, 1)
    assert set(latest.changed) == {"title_en", "status"}
    with pytest.raises(Conflict):
        services.article_restore(article=guide, author=agent, number=3)


def test_only_staff_write_articles(guide, customer):
    with pytest.raises(PermissionDenied):
        services.article_update(article=guide, author=customer, title_en="Mine now")
    with pytest.raises(PermissionDenied):
        services.article_create(author=customer, category=help_category(), slug="x", title_en="X", body_en="X")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slug": "Bad Slug", "title_en": "T", "body_en": "B"}, "slug"),
        ({"slug": "no-title"}, "title_en"),
        ({"slug": "no-body", "title_ru": "Заголовок"}, "body_ru"),
        ({"slug": "change-php-version", "title_en": "T", "body_en": "B"}, "slug"),
    ],
)
def test_articles_are_checked(guide, agent, fields, field):
    with pytest.raises(DomainError) as error:
        services.article_create(author=agent, category=guide.category, **fields)
    assert error.value.field == field


def test_views_are_counted_once_per_reader_and_never_for_bots(guide, client):
    url = reverse("help-article", args=["hosting", guide.slug])
    client.get(url, headers={"User-Agent": BROWSER})
    client.get(url, headers={"User-Agent": BROWSER})  # a reload
    client.get(url, headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    client.get(url, headers={"User-Agent": "curl/8.5.0"})
    guide.refresh_from_db()
    assert guide.view_count == 1
    assert ArticleViewDay.objects.get(article=guide).views == 1
    other = client.__class__()
    other.get(url, headers={"User-Agent": BROWSER + " Other"})
    guide.refresh_from_db()
    assert guide.view_count == 2


def test_article_page_renders_sanitised_markdown_with_related_articles(guide, client):
    article("php-extensions", title_en="Enabling PHP extensions", body_en="Choose the PHP version first.")
    page = client.get(reverse("help-article", args=["hosting", guide.slug]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<strong>Sites → PHP</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "Enabling PHP extensions" in html  # related
    wrong_section = client.get(reverse("help-article", args=["other", guide.slug]))
    assert wrong_section.status_code == 404


def test_russian_reader_gets_the_russian_version(guide, client):
    client.cookies["django_language"] = "ru"
    html = client.get(reverse("help-article", args=["hosting", guide.slug])).content.decode()
    assert "Как сменить версию PHP" in html


def test_help_centre_home_needs_no_login_and_panel_needs_a_customer(guide, client, customer, agent):
    assert client.get(reverse("help")).status_code == 200
    assert "Changing the PHP version" in client.get(reverse("help-category", args=["hosting"])).content.decode()
    assert client.get(reverse("panel-help")).status_code == 302
    client.force_login(customer)
    assert client.get(reverse("panel-help")).status_code == 200
    assert client.get(reverse("desk-help-articles")).status_code == 403
    client.force_login(agent)
    assert client.get(reverse("desk-help")).status_code == 200
    assert client.get(reverse("desk-help-articles")).status_code == 200


def test_feedback_one_answer_per_reader_and_the_worst_first_report(guide, client, agent):
    other = article("php-limits", title_en="PHP limits", body_en="Raise memory_limit.")
    url = reverse("help-feedback", args=["hosting", guide.slug])
    client.post(url, {"helpful": "yes"})
    client.post(url, {"helpful": "no", "comment": "The menu is called Websites now"})
    client.post(reverse("help-feedback", args=["hosting", other.slug]), {"helpful": "yes"})
    (feedback,) = guide.feedback.all()
    assert (feedback.helpful, feedback.comment) == (False, "The menu is called Websites now")
    report = selectors.feedback_report(user=agent)
    assert [row.article.slug for row in report] == [guide.slug, other.slug]
    assert report[0].satisfaction == 0.0 and report[1].satisfaction == 1.0
    assert report[0].comments[0].comment == "The menu is called Websites now"
    client.force_login(agent)
    page = client.get(reverse("desk-help-report")).content.decode()
    assert "The menu is called Websites now" in page


def test_staff_edit_articles_in_the_workspace(guide, client, agent):
    client.force_login(agent)
    data = {
        "category": guide.category.pk,
        "kind": "guide",
        "status": "published",
        "visibility": "public",
        "slug": "reboot-server",
        "position": 10,
        "title_en": "Rebooting a server",
        "body_en": "Run `sudo reboot`.",
        "title_ru": "",
        "body_ru": "",
        "note": "new guide",
    }
    response = client.post(reverse("desk-help-article-new"), data)
    created = Article.objects.get(slug="reboot-server")
    assert response.status_code == 302
    assert created.revisions.get().author == agent
    client.post(reverse("desk-help-article-edit", args=[created.pk]), {**data, "title_en": "Rebooting servers"})
    created.refresh_from_db()
    assert created.title_en == "Rebooting servers"
    history = client.get(reverse("desk-help-article-history", args=[created.pk])).content.decode()
    assert "new guide" in history and "title_en" in history
    client.post(reverse("desk-help-article-restore", args=[created.pk, 1]))
    created.refresh_from_db()
    assert created.title_en == "Rebooting a server"
    taken = client.post(reverse("desk-help-article-new"), {**data, "title_en": "Again"})
    assert taken.status_code == 400 and "Another article has this address" in taken.content.decode()


def test_the_admin_saves_through_the_services(guide, client, users_by_role):
    admin = users_by_role["admin"]
    client.force_login(admin)
    url = reverse("admin:knowledge_article_change", args=[guide.pk])
    form = {
        "category": guide.category.pk, "kind": "guide", "status": "published", "visibility": "public",
        "slug": guide.slug, "position": 100, "title_en": "Changed in the admin", "body_en": guide.body_en,
        "title_ru": guide.title_ru, "body_ru": guide.body_ru,
        "revisions-TOTAL_FORMS": 0, "revisions-INITIAL_FORMS": 0,
    }  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = guide.revisions.order_by("-number").first()
    assert (latest.author, latest.changed) == (admin, ["title_en"])


def test_a_ticket_marked_as_answered_by_an_article(guide, client, customer, agent, line):
    ticket = ticket_services.ticket_create(customer=customer, subject="PHP 8", body="How do I change it?")
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="desk-help"' in page
    results = client.get(reverse("desk-help-ticket-search"), {"q": "php version", "ticket": ticket.number})
    html = results.content.decode()
    assert "data-insert-link" in html and "/help/hosting/change-php-version/" in html
    client.post(reverse("desk-help-ticket-mark", args=[ticket.number]), {"article": guide.pk})
    client.post(reverse("desk-help-ticket-mark", args=[ticket.number]), {"article": guide.pk})
    use = ArticleUse.objects.get()
    assert (use.ticket, use.article, use.agent) == (ticket, guide, agent)
    assert selectors.typical_questions() == [(guide, 1)]
    assert "answered-by" in client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    client.post(reverse("desk-help-ticket-mark", args=[ticket.number]), {"article": guide.pk, "unmark": "1"})
    assert not ArticleUse.objects.exists()


def test_internal_articles_offer_no_link_for_a_customer_reply(client, agent):
    article("internal-howto", visibility=Article.Visibility.INTERNAL, title_en="Escalating disks", body_en="Disks.")
    client.force_login(agent)
    html = client.get(reverse("desk-help-ticket-search"), {"q": "escalating disks"}).content.decode()
    assert "Escalating disks" in html and "data-insert-link" not in html
