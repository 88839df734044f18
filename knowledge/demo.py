"""The help centre's demo content: sections, guides and FAQ entries in English and Russian
(`knowledge/demo_articles/*.md`), and the ticket form's guided questions.

Idempotent: sections are upserted by their address, articles by theirs through the services
(an unchanged article gets no new revision), and the guided questions of a ticket category are
written only while that category has none, so what was edited in the admin stays.

An article file is a few `key: value` lines (slug, category, kind, position, and optionally
visibility and status), then each language as `:::en Title` or `:::ru Заголовок` followed by
its Markdown text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from knowledge import services
from knowledge.models import Article, GuideStep, HelpCategory
from tickets.models import Category

ARTICLES_DIR = Path(__file__).resolve().parent / "demo_articles"

# slug, English name, Russian name, English description, Russian description, ticket category
CATEGORIES = [
    ("domains-dns", "Domains and DNS", "Домены и DNS",
     "Name servers, DNS records, transfers and renewals.", "DNS-серверы, записи, перенос и продление доменов.",
     Category.TECH_SIMPLE),
    ("ssl", "SSL certificates", "SSL-сертификаты",
     "Free and paid certificates, HTTPS and browser warnings.",
     "Бесплатные и платные сертификаты, HTTPS и предупреждения браузера.",
     Category.TECH_SIMPLE),
    ("websites", "Websites and PHP", "Сайты и PHP",
     "PHP versions and extensions, site errors, permissions, Apache and nginx.",
     "Версии и расширения PHP, ошибки сайта, права на файлы, Apache и nginx.",
     Category.TECH_SIMPLE),
    ("databases", "Databases", "Базы данных",
     "MySQL and MariaDB: connections, users, imports.", "MySQL и MariaDB: подключение, пользователи, импорт.",
     Category.TECH_SIMPLE),
    ("mail", "Mail", "Почта",
     "Mailboxes, mail programs, delivery and spam.", "Почтовые ящики, почтовые программы, доставка и спам.",
     Category.TECH_SIMPLE),
    ("servers", "VPS and dedicated servers", "VPS и выделенные серверы",
     "Reboot, reinstall, SSH, disk space and load.", "Перезагрузка, переустановка, SSH, место на диске и нагрузка.",
     Category.TECH_MEDIUM),
    ("backups-migration", "Backups and migration", "Резервные копии и перенос",
     "Restoring backups and moving sites to us.", "Восстановление из копий и перенос сайтов к нам.",
     Category.TECH_MEDIUM),
    ("billing", "Payments and documents", "Оплата и документы",
     "Paying, invoices and closing documents, refunds.", "Оплата, счета и закрывающие документы, возвраты.",
     Category.BILLING),
    ("orders-plans", "Orders and plans", "Заказы и тарифы",
     "Order status, plan limits, changing plans.", "Статус заказа, ограничения тарифа, смена тарифа.",
     Category.PRESALE),
    ("account", "Your account", "Ваш аккаунт",
     "Signing in, passwords, two-factor authentication, access for others.",
     "Вход, пароли, двухфакторная аутентификация, доступ для других.",
     Category.GENERAL),
]  # fmt: skip

# The ticket form's guided questions, per ticket category: (question en, question ru), then the
# answers offered, each (answer en, answer ru, search words, [article slugs], and None or a
# further question in the same shape).
GUIDES = {
    Category.TECH_SIMPLE: (
        ("What is the problem about?", "С чем проблема?"),
        [
            ("My site does not open or shows an error", "Сайт не открывается или показывает ошибку",
             "site error", [], (("Which error do you see?", "Какую ошибку вы видите?"), [
                 ("500 Internal Server Error", "Ошибка 500 Internal Server Error", "500 internal server error",
                  ["error-500"], None),
                 ("502 or 504 Bad Gateway / Gateway Timeout", "Ошибка 502 или 504", "502 bad gateway 504",
                  ["error-502-504"], None),
                 ("403 Forbidden", "Ошибка 403 Forbidden", "403 forbidden permissions", ["file-permissions"], None),
                 ("The browser says the connection timed out", "Браузер пишет, что время ожидания истекло",
                  "connection timed out", ["site-timeout"], None),
             ])),
            ("Domain or DNS", "Домен или DNS", "domain dns", ["domain-not-resolving", "dns-propagation"], None),
            ("SSL certificate or HTTPS", "SSL-сертификат или HTTPS", "ssl certificate https",
             ["free-ssl-lets-encrypt", "ssl-errors"], None),
            ("Mail", "Почта", "mail", ["mail-client-setup", "mail-not-delivered-spam"], None),
            ("Database", "База данных", "database", ["database-connection-error"], None),
        ],
    ),
    Category.TECH_MEDIUM: (
        ("What do you need to do with the server?", "Что нужно сделать с сервером?"),
        [
            ("It does not respond", "Сервер не отвечает", "server not responding reboot", ["reboot-server"], None),
            ("I cannot log in over SSH", "Не могу зайти по SSH", "ssh", ["ssh-access", "root-password-reset"], None),
            ("The disk is full", "Закончилось место на диске", "disk space", ["disk-full"], None),
            ("Restore or move a site", "Восстановить или перенести сайт", "backup restore migrate",
             ["restore-from-backup", "migrate-site-to-us"], None),
        ],
    ),
    Category.BILLING: (
        ("What is the question about?", "О чём вопрос?"),
        [
            ("I paid but the money has not arrived", "Оплатил, но деньги не поступили", "payment not credited",
             ["payment-not-credited"], None),
            ("Invoices and closing documents", "Счета и закрывающие документы", "invoice documents",
             ["invoice-documents"], None),
            ("A refund", "Возврат денег", "refund", ["refund"], None),
            ("My service is suspended", "Услуга заблокирована", "suspended nonpayment",
             ["service-suspended-nonpayment"], None),
        ],
    ),
    Category.PRESALE: (
        ("What would you like to know?", "Что вы хотите узнать?"),
        [
            ("Where is my order?", "Где мой заказ?", "order status", ["order-status"], None),
            ("Which plan suits me?", "Какой тариф мне подходит?", "plan choose", ["choose-hosting-vps", "plan-limits"],
             None),
            ("Changing my plan", "Смена тарифа", "upgrade plan", ["upgrade-plan"], None),
        ],
    ),
    Category.GENERAL: (
        ("What is it about?", "О чём вопрос?"),
        [
            ("I cannot sign in", "Не могу войти", "sign in password", ["reset-panel-password", "account-locked"], None),
            ("Two-factor authentication", "Двухфакторная аутентификация", "two-factor", ["two-factor"], None),
            ("Access for a colleague or developer", "Доступ для коллеги или разработчика", "access user",
             ["add-user-access"], None),
        ],
    ),
}  # fmt: skip


@dataclass
class ArticleFile:
    slug: str
    category: str
    kind: str = Article.Kind.GUIDE
    position: int = 100
    visibility: str = Article.Visibility.PUBLIC
    status: str = Article.Status.PUBLISHED
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)


_LANGUAGE_LINE = re.compile(r"^:::(en|ru) (.+)$", re.MULTILINE)


def parse(path: Path) -> ArticleFile:
    content = path.read_text(encoding="utf-8")
    first = _LANGUAGE_LINE.search(content)
    if first is None:
        raise ValueError(f"{path}: no ':::en Title' or ':::ru Title' line")
    meta = dict(line.split(":", 1) for line in content[: first.start()].strip().splitlines() if line.strip())
    meta = {key.strip(): value.strip() for key, value in meta.items()}
    article = ArticleFile(
        slug=meta["slug"],
        category=meta["category"],
        kind=meta.get("kind", Article.Kind.GUIDE),
        position=int(meta.get("position", 100)),
        visibility=meta.get("visibility", Article.Visibility.PUBLIC),
        status=meta.get("status", Article.Status.PUBLISHED),
    )
    parts = list(_LANGUAGE_LINE.finditer(content))
    for index, match in enumerate(parts):
        end = parts[index + 1].start() if index + 1 < len(parts) else len(content)
        article.texts[match.group(1)] = (match.group(2).strip(), content[match.end() : end].strip() + "\n")
    return article


def article_files() -> list[ArticleFile]:
    return [parse(path) for path in sorted(ARTICLES_DIR.glob("*.md"))]


def upsert_categories() -> dict[str, HelpCategory]:
    found = {}
    for position, (slug, name_en, name_ru, description_en, description_ru, ticket_category) in enumerate(CATEGORIES):
        category, _created = HelpCategory.objects.update_or_create(
            slug=slug,
            defaults={
                "name_en": name_en,
                "name_ru": name_ru,
                "description_en": description_en,
                "description_ru": description_ru,
                "ticket_category": ticket_category,
                "position": position * 10,
            },
        )
        found[slug] = category
    return found


def upsert_articles(categories: dict[str, HelpCategory]) -> int:
    """Create or bring up to date every demo article; returns how many were created or changed."""
    written = 0
    for item in article_files():
        fields = {
            "category": categories[item.category],
            "kind": item.kind,
            "position": item.position,
            "visibility": item.visibility,
            "status": item.status,
        }
        for language in ("en", "ru"):
            title, body = item.texts.get(language, ("", ""))
            fields[f"title_{language}"] = title
            fields[f"body_{language}"] = body
        existing = Article.objects.filter(slug=item.slug).first()
        if existing is None:
            services.article_create(author=None, slug=item.slug, note="demo", **fields)
            written += 1
        else:
            before = existing.revisions.count()
            services.article_update(article=existing, author=None, note="demo", **fields)
            written += existing.revisions.count() > before
    return written


def _add_steps(category: str, parent: GuideStep, answers: list, articles: dict[str, Article]) -> None:
    for position, (answer_en, answer_ru, words, slugs, further) in enumerate(answers):
        step = GuideStep.objects.create(
            ticket_category=category, parent=parent, answer_en=answer_en, answer_ru=answer_ru,
            search_words=words, position=position,
        )  # fmt: skip
        step.articles.set([articles[slug] for slug in slugs if slug in articles])
        if further:
            (step.question_en, step.question_ru), more = further
            step.save(update_fields=["question_en", "question_ru"])
            _add_steps(category, step, more, articles)


def upsert_guides() -> int:
    """The guided questions of each ticket category that has none yet."""
    articles = {a.slug: a for a in Article.objects.all()}
    written = 0
    for category, ((question_en, question_ru), answers) in GUIDES.items():
        if GuideStep.objects.filter(ticket_category=category).exists():
            continue
        root = GuideStep.objects.create(ticket_category=category, question_en=question_en, question_ru=question_ru)
        _add_steps(category, root, answers, articles)
        written += 1
    return written


@transaction.atomic
def upsert_demo_help_centre() -> dict[str, int]:
    categories = upsert_categories()
    articles = upsert_articles(categories)
    guides = upsert_guides()
    return {"articles": articles, "guides": guides}
