"""Search in both languages: word forms, typos, the wrong keyboard layout, transliteration,
pasted error codes, ranking, snippets, search as you type; and what customers never see."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from knowledge import selectors
from knowledge.models import Article, SearchMiss
from knowledge.tests.factories import article

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(db):
    return {
        "restore": article(
            "restore-from-backup",
            title_en="Restoring a site from a backup",
            body_en="To restore a site, open **Backups** and choose the date. Copies are kept for 14 days.",
            title_ru="Восстановление сайта из резервной копии",
            body_ru="Чтобы восстановить сайт, откройте раздел резервных копий и выберите дату. Копии хранятся 14 дней.",
        ),
        "wordpress": article(
            "wordpress-white-screen",
            title_en="WordPress shows a white screen",
            body_en="A fatal PHP error in a plugin or theme. Turn the plugins off by renaming their folder.",
            title_ru="WordPress показывает белый экран",
            body_ru="Фатальная ошибка PHP в плагине или теме. Отключите плагины, переименовав их папку.",
        ),
        "apache": article(
            "apache-down",
            title_en="Apache does not start",
            body_en="AH00072: make_sock: could not bind to address [::]:80 means that another program holds port 80.",
            title_ru="Apache не запускается",
            body_ru="AH00072: make_sock: could not bind to address [::]:80 значит: порт 80 занят.",
        ),
        "mysql": article(
            "mysql-access-denied",
            title_en="Access denied for user",
            body_en="SQLSTATE[HY000] [1045] Access denied for user: the database password is wrong.",
            title_ru="Доступ к базе запрещён",
            body_ru="SQLSTATE[HY000] [1045] Access denied for user: неверный пароль базы данных.",
        ),
        "timeout": article(
            "site-timeout",
            title_en="The site does not open",
            body_en="ERR_CONNECTION_TIMED_OUT means that nothing answers at the address: check the server.",
            title_ru="Сайт не открывается",
            body_ru="ERR_CONNECTION_TIMED_OUT значит, что по адресу никто не отвечает: проверьте сервер.",
        ),
        "mail": article(
            "mail-setup",
            title_en="Setting up mail in Outlook",
            body_en="Use IMAP on port 993 and SMTP on port 465 with the full address as the login.",
            title_ru="Настройка почты в Outlook",
            body_ru="Используйте IMAP на порту 993 и SMTP на порту 465, логин — полный адрес ящика.",
        ),
        "php-version": article(
            "php-version",
            title_en="Changing the PHP version",
            body_en="Choose the version in the control panel.",
            title_ru="Смена версии PHP",
            body_ru="Выберите версию в панели управления.",
        ),
        "php-body": article(
            "php-limits",
            title_en="Raising memory limits",
            body_en="After changing the PHP version the limits stay as they were.",
            title_ru="Лимиты памяти",
            body_ru="После смены версии PHP лимиты остаются прежними.",
        ),
        "draft": article(
            "draft-restore",
            status=Article.Status.DRAFT,
            title_en="Restore backups draft",
            body_en="Restore a site from a backup.",
            title_ru="Черновик: восстановление сайта из копии",
            body_ru="Восстановить сайт из резервной копии.",
        ),
        "internal": article(
            "internal-restore",
            visibility=Article.Visibility.INTERNAL,
            title_en="Internal: restoring backups by hand",
            body_en="Restore a site from a backup on the storage server.",
            title_ru="Для сотрудников: восстановление копий вручную",
            body_ru="Восстановить сайт из резервной копии на сервере хранения.",
        ),
    }


def slugs(query, language, user=None, **options):
    results = selectors.search_articles(user=user or AnonymousUser(), query=query, language=language, **options)
    return [hit.article.slug for hit in results.hits]


def test_russian_word_forms_find_each_other(corpus):
    # The noun in the title, the verb in the question, other cases of the same words.
    assert slugs("восстановить сайт", "ru")[0] == "restore-from-backup"
    assert slugs("восстановлением резервных копий", "ru")[0] == "restore-from-backup"
    assert slugs("настроить почту", "ru")[0] == "mail-setup"


def test_english_word_forms_find_each_other(corpus):
    assert slugs("restored sites backups", "en")[0] == "restore-from-backup"


def test_typos_are_corrected_against_the_help_centre_words(corpus):
    results = selectors.search_articles(user=AnonymousUser(), query="востановить сайт", language="ru")
    assert results.hits[0].article.slug == "restore-from-backup"
    assert "восстановить" in results.read_as
    assert slugs("wordpres white screen", "en")[0] == "wordpress-white-screen"


def test_wrong_keyboard_layout_and_transliteration(corpus):
    # "восстановить сайт" typed with the English layout on.
    assert slugs("djccnfyjdbnm cfqn", "ru")[0] == "restore-from-backup"
    # "wordpress" typed with the Russian layout on.
    assert slugs("цщквзкуыы", "en")[0] == "wordpress-white-screen"
    # Russian in Latin letters.
    assert slugs("vosstanovit sait", "ru")[0] == "restore-from-backup"


def test_pasted_error_messages_match_their_codes(corpus):
    assert slugs("AH00072: make_sock: could not bind", "en")[0] == "apache-down"
    assert slugs("SQLSTATE[HY000] [1045]", "ru")[0] == "mysql-access-denied"
    assert slugs("ERR_CONNECTION_TIMED_OUT", "en")[0] == "site-timeout"


def test_title_ranks_above_text(corpus):
    found = slugs("php version", "en")
    assert found.index("php-version") < found.index("php-limits")
    found = slugs("версия php", "ru")
    assert found.index("php-version") < found.index("php-limits")


def test_snippets_highlight_the_words_and_escape_the_text(db):
    article(
        "escaped",
        title_en="Pasted markup",
        body_en="Customers paste `<script>alert(1)</script>` and `if a > b && c` next to the word firewall.",
    )
    (hit,) = selectors.search_articles(user=AnonymousUser(), query="firewall", language="en").hits
    assert "<mark>firewall</mark>" in hit.snippet
    # The article's text is text: markup in it never reaches the page as markup.
    assert "<script" not in hit.snippet
    assert "a &gt; b &amp;&amp; c" in hit.snippet


def test_words_still_being_typed_match_as_prefixes(corpus):
    assert slugs("восстан", "ru", prefix=True)[0] == "restore-from-backup"
    assert slugs("восстан", "ru") == []


def test_nothing_found_for_a_question_about_something_else(corpus):
    assert slugs("minecraft", "en") == []


def test_drafts_and_internal_articles_are_never_shown_to_customers_or_visitors(corpus, customer, agent, client):
    for user in (AnonymousUser(), customer):
        found = slugs("restore backup", "en", user=user) + slugs("восстановить сайт из копии", "ru", user=user)
        assert "restore-from-backup" in found
        assert "draft-restore" not in found and "internal-restore" not in found
        answer = selectors.answer(user=user, question="restore a site from a backup", language="en")
        assert {hit.article.slug for hit in answer.hits}.isdisjoint({"draft-restore", "internal-restore"})
    staff_found = slugs("restore backup", "en", user=agent)
    assert "internal-restore" in staff_found and "draft-restore" not in staff_found
    # The pages, anonymous and in the panel.
    for slug in ("draft-restore", "internal-restore"):
        assert client.get(reverse("help-article", args=["hosting", slug])).status_code == 404
    client.force_login(customer)
    for slug in ("draft-restore", "internal-restore"):
        assert client.get(reverse("panel-help-article", args=["hosting", slug])).status_code == 404
    page = client.get(reverse("panel-help-search"), {"q": "restore backup"}).content.decode()
    assert "internal-restore" not in page and "draft-restore" not in page
    home = client.get(reverse("panel-help")).content.decode()
    assert "internal-restore" not in home and "draft-restore" not in home


def test_the_vocabulary_follows_new_articles(corpus):
    assert slugs("kubernets cluster", "en") == []
    article("kubernetes", title_en="Kubernetes clusters", body_en="Creating a Kubernetes cluster.")
    assert slugs("kubernets cluster", "en")[0] == "kubernetes"


def test_search_page_full_and_as_you_type(corpus, client):
    page = client.get(reverse("help-search"), {"q": "востановить сайт"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" in html and reverse("help-article", args=["hosting", "restore-from-backup"]) in html
    partial = client.get(reverse("help-search"), {"q": "восстан"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert "restore-from-backup" in partial.content.decode()


def test_searches_that_found_nothing_are_kept_for_the_editors(corpus, client):
    client.get(reverse("help-search"), {"q": "minecraft mods"})
    client.get(reverse("help-search"), {"q": "Minecraft  mods"})
    client.get(reverse("help-search"), {"q": "minecr"}, headers={"HX-Request": "true"})  # still typing
    (miss,) = SearchMiss.objects.all()
    assert (miss.query, miss.count) == ("minecraft mods", 2)


def test_customers_are_never_corrected_towards_words_only_staff_articles_use(corpus, customer, agent):
    article(
        "internal-ipmi",
        visibility=Article.Visibility.INTERNAL,
        title_en="Resetting the baseboard controller",
        body_en="Reset the controller from the baseboard console.",
    )
    for user in (AnonymousUser(), customer):
        results = selectors.search_articles(user=user, query="baseboardd", language="en")
        assert results.hits == [] and "baseboard" not in results.read_as
    assert slugs("baseboardd", "en", user=agent) == ["internal-ipmi"]
