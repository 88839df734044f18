"""Demo data: a hosting provider's support department with a year of history.

Deterministic (a seeded random generator and a fixed end date give the same rows) and
idempotent (reference data is upserted by natural keys; the history is written once).
The shape follows what providers report about their support:

- four support levels (self-service to enterprise) and two paid administration
  packages ("Basic": 250 RUB, 5 tasks, 24 h; "Premium": 2000 RUB, 10 tasks, 5 h);
- a first line (customer care), technical consultants, administrators, and separate
  finance and sales departments;
- about 7,000 requests a month whose rhythm follows 1cloud's statistics: busy
  weekends, a dip on Mondays, peaks before and after lunch and late in the evening;
- two thirds of the requests solved at the first level, first reaction in 10-12 min.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.models import AgentProfile, CustomerProfile, Organisation, Plan, Role, User
from helpdesk import bulk
from helpdesk.demo_logins import DEMO_PASSWORD
from helpdesk.demo_profile import HOUR_WEIGHTS, PLANS, WEEKDAY_WEIGHTS
from helpdesk.demo_sla import history_now, write_demo_sla
from knowledge.demo import upsert_demo_help_centre
from quality.demo import upsert_demo_quality
from queues.models import BalanceEntry, BoostKind, BoostPrice, Line, LineMembership, QueuePolicy, RoutingRule
from shifts.demo import upsert_demo_shifts
from sla.models import BusinessCalendar, Component, HardwareWindow, SlaPolicy, SlaTarget, WorkingInterval
from status.demo import upsert_demo_status
from tickets import events
from tickets.models import (
    Category,
    Channel,
    EventKind,
    LineStint,
    Message,
    ReplyTemplate,
    Status,
    SystemReason,
    Ticket,
    TicketEvent,
    Urgency,
)

MOSCOW = ZoneInfo("Europe/Moscow")
SEED = 20131001
CUSTOMER_PREFIX = "demo-customer-"

# code, name, Russian name, kind, level, headcount, description
LINES = [
    ("first-line", "Customer care (first line)", "Служба заботы о клиентах (первая линия)", "tier", 1, 10,
     "General, pre-sale and simple technical questions; answers with templates and passes on the rest."),
    ("consultants", "Technical consultants", "Технические консультанты", "tier", 2, 6,
     "Medium technical tasks of about 15 minutes: a crashed web server, permissions, PHP extensions."),
    ("administrators", "Administrators", "Администраторы", "tier", 3, 5,
     "Complex and paid work: IP changes, migrations, backups, kernel tuning."),
    ("finance", "Finance", "Финансовый отдел", "department", None, 3, "Invoices, payments, refunds."),
    ("sales", "Sales", "Отдел продаж", "department", None, 3, "Pre-sale questions and new orders."),
]  # fmt: skip

# category -> (share of requests, first line it goes to)
CATEGORY_MIX = [
    (Category.GENERAL, 0.20, "first-line"),
    (Category.PRESALE, 0.07, "sales"),
    (Category.BILLING, 0.12, "finance"),
    (Category.TECH_SIMPLE, 0.27, "first-line"),
    (Category.TECH_MEDIUM, 0.18, "first-line"),
    (Category.TECH_COMPLEX, 0.08, "first-line"),
    (Category.HARDWARE, 0.03, "administrators"),
    (Category.ADMIN_WORK, 0.05, "administrators"),
]

SUBJECTS = {
    Category.GENERAL: ["Как сменить контактный e-mail?", "Where do I find my invoices?", "Доступ к панели управления",
                       "Which name servers does my domain use?", "Как добавить второго пользователя в аккаунт?"],
    Category.PRESALE: ["Подбор тарифа для интернет-магазина", "Do you offer servers in Amsterdam?",
                       "Есть ли тестовый период?", "Can I get a dedicated server with 256 GB RAM?"],
    Category.BILLING: ["Не прошёл платёж картой", "Invoice for the last month is missing",
                       "Возврат средств за неиспользованный период", "Закрывающие документы для бухгалтерии"],
    Category.TECH_SIMPLE: ["Как создать домен на сервере?", "Сбросить пароль root", "How do I add a DNS record?",
                           "Не приходит почта на ящик", "Как подключиться по SSH?"],
    Category.TECH_MEDIUM: ["Упал Apache после обновления", "nginx returns 502 Bad Gateway",
                           "Установить расширение PHP imagick", "Wrong file permissions after upload",
                           "Сайт не подключается к базе данных"],
    Category.TECH_COMPLEX: ["Перенос сайта и базы с другого хостинга", "Kernel panic after reboot",
                            "Настроить резервное копирование", "Сменить IP-адрес сервера", "Tune MySQL for 32 GB RAM"],
    Category.HARDWARE: ["Диск в RAID деградировал", "Replace a failing memory module", "Сервер не включается"],
    Category.ADMIN_WORK: ["Настроить файрвол", "Install Docker and docker-compose", "Обновить PHP до 8.3"],
}  # fmt: skip

FIRST_LINE_TEMPLATES = [
    ("greeting", ("Greeting", "Приветствие"),
     "Здравствуйте, {customer_name}! Спасибо, что обратились в поддержку. "
     "Ваш запрос №{ticket_number} получен, мы уже разбираемся.",
     "Hello {customer_name}, thank you for contacting support. We have your request #{ticket_number} "
     "and are looking into it."),
    ("need-details", ("Need details", "Нужны подробности"),
     "{customer_name}, чтобы помочь, нам нужно больше подробностей: "
     "адрес сервера или домен, точный текст ошибки и время, когда она появилась.",
     "{customer_name}, to help you we need a few details: the server address or domain, the exact error "
     "message and when it started."),
    ("nameservers", ("Name servers", "Серверы имён"),
     "Домены на нашем хостинге используют серверы имён ns1.example.net и "
     "ns2.example.net. Изменения вступают в силу в течение 24 часов.",
     "Domains hosted with us use the name servers ns1.example.net and ns2.example.net. Changes take "
     "effect within 24 hours."),
    ("password-reset", ("Password reset", "Сброс пароля"),
     "Пароль можно сбросить в панели управления: «Профиль» → «Безопасность». "
     "Ссылка придёт на контактный e-mail.",
     "You can reset the password in the control panel under Profile → Security; the link goes to your "
     "contact e-mail."),
    ("payment-received", ("Payment received", "Платёж получен"),
     "Платёж поступил, услуга продлена. Спасибо, {customer_name}!",
     "Your payment has arrived and the service is renewed. Thank you, {customer_name}!"),
    ("transfer-tech", ("Passed to engineers", "Передано инженерам"),
     "Ваш вопрос №{ticket_number} требует работы инженеров, мы передали "
     "его техническим специалистам. Они ответят здесь же.",
     "Request #{ticket_number} needs our engineers; we have passed it to them and they will answer here."),
    ("transfer-finance", ("Passed to finance", "Передано в финансовый отдел"),
     "Мы передали ваш вопрос в финансовый отдел, ответ придёт в этом "
     "же запросе.", "We have passed your question to the finance department; the answer will come here."),
    ("guide-link", ("Guide link", "Ссылка на инструкцию"),
     "Пошаговая инструкция есть в справочном центре: раздел «Частые вопросы». "
     "Если что-то не получится, напишите нам.",
     "There is a step-by-step guide in the help centre under Frequently asked questions. If anything "
     "does not work, write to us."),
    ("check-solved", ("Is it solved?", "Проблема решена?"),
     "{customer_name}, подскажите, пожалуйста, решена ли проблема? Если да, "
     "подтвердите это в панели управления.",
     "{customer_name}, is the problem solved? If so, please confirm it in the control panel."),
    ("closing", ("Closing", "Завершение"),
     "Рады были помочь! С уважением, {agent_name}, служба заботы о клиентах.",
     "Glad we could help! Kind regards, {agent_name}, customer care."),
]  # fmt: skip

AGENT_NAMES = ["Анна", "Иван", "Мария", "Дмитрий", "Елена", "Сергей", "Ольга", "Алексей", "Наталья", "Павел",
               "Татьяна", "Андрей", "Юлия", "Михаил", "Светлана", "Николай", "Ирина", "Артём", "Ксения",
               "Владимир", "Дарья", "Роман", "Екатерина", "Максим", "Полина", "Кирилл", "Вера"]  # fmt: skip

REPLIES = [
    "Проверили, причина найдена и устранена. Проверьте, пожалуйста, работу сервиса.",
    "We have fixed it on our side; please check that everything works now.",
    "Перезапустили службу и поправили конфигурацию, сейчас всё работает.",
    "Уточните, пожалуйста, в какое время появилась ошибка?",
]
CUSTOMER_REPLIES = ["Спасибо, всё работает!", "Thanks, it works now.", "Ошибка осталась, вот лог.", "Да, решено."]


@dataclass(frozen=True)
class DemoSize:
    customers: int = 2000
    months: int = 12
    requests_per_month: int = 7000


def _hash(password: str) -> str:
    # One hash for every demo account: hashing thousands of passwords would take minutes.
    return make_password(password)


def upsert_plans() -> dict[str, Plan]:
    plans = {}
    for code, name, kind, level, price, tasks, extra, hours, _share in PLANS:
        plans[code], _ = Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "level": level,
                "monthly_price": Decimal(price),
                "tasks_per_month": tasks,
                "extra_task_price": None if extra is None else Decimal(extra),
                "response_hours": hours,
            },
        )
    return plans


def upsert_lines() -> dict[str, Line]:
    lines = {}
    for position, (code, name, name_ru, kind, level, _headcount, description) in enumerate(LINES):
        lines[code], _ = Line.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_ru": name_ru,
                "kind": kind,
                "level": level,
                "description": description,
                "position": position,
            },
        )
    chain = {"first-line": "consultants", "consultants": "administrators"}
    for code, next_code in chain.items():
        if lines[code].next_line_id != lines[next_code].id:
            lines[code].next_line = lines[next_code]
            lines[code].save(update_fields=["next_line"])
    return lines


def _upsert_user(username: str, *, role: str, password_hash: str, **fields) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"role": role, "password": password_hash, **fields}
    )
    return user


def upsert_routing(lines: dict[str, Line]) -> None:
    """Where new tickets go: general and technical questions to the first line, billing to
    finance, pre-sale to sales, hardware and paid administration straight to administrators;
    a critical technical problem skips the first line."""
    for category, _share, line_code in CATEGORY_MIX:
        RoutingRule.objects.update_or_create(category=category, urgency="", defaults={"line": lines[line_code]})
    for category in (Category.TECH_MEDIUM, Category.TECH_COMPLEX):
        RoutingRule.objects.update_or_create(
            category=category, urgency=Urgency.CRITICAL, defaults={"line": lines["consultants"]}
        )


# plan code -> urgency -> (first response, next response, resolution) in business minutes,
# after OVHcloud's four levels; the administration packages answer within 24 h and 5 h.
SLA_TARGETS = {
    "self-service": {"normal": (24 * 60, 24 * 60, 5 * 24 * 60), "high": (8 * 60, 8 * 60, 3 * 24 * 60),
                     "critical": (60, 60, 24 * 60)},
    "standard": {"normal": (8 * 60, 8 * 60, 3 * 24 * 60), "high": (4 * 60, 4 * 60, 2 * 24 * 60),
                 "critical": (30, 30, 12 * 60)},
    "business": {"normal": (4 * 60, 4 * 60, 2 * 24 * 60), "high": (2 * 60, 2 * 60, 24 * 60),
                 "critical": (15, 15, 8 * 60)},
    "enterprise": {"normal": (60, 60, 24 * 60), "high": (30, 30, 12 * 60), "critical": (10, 10, 4 * 60)},
    "admin-basic": {"normal": (24 * 60, 24 * 60, 5 * 24 * 60), "high": (24 * 60, 24 * 60, 5 * 24 * 60),
                    "critical": (60, 60, 24 * 60)},
    "admin-premium": {"normal": (5 * 60, 5 * 60, 3 * 24 * 60), "high": (5 * 60, 5 * 60, 3 * 24 * 60),
                      "critical": (15, 15, 8 * 60)},
}  # fmt: skip


def upsert_sla(plans: dict[str, Plan], lines: dict[str, Line]) -> None:
    """Consultants work 10:00-18:00 Moscow time on weekdays; the technical lines 24/7."""
    office, _ = BusinessCalendar.objects.get_or_create(
        name="Office hours, Moscow", defaults={"time_zone": "Europe/Moscow"}
    )
    if not office.intervals.exists():
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=office, weekday=day, starts_at=dt.time(10), ends_at=dt.time(18))
            for day in range(5)
        )
    around_the_clock, _ = BusinessCalendar.objects.get_or_create(
        name="24/7", defaults={"time_zone": "Europe/Moscow", "always_open": True}
    )
    for code, calendar in (("consultants", office), ("finance", office), ("sales", office),
                           ("first-line", around_the_clock), ("administrators", around_the_clock)):  # fmt: skip
        Line.objects.filter(code=code).update(calendar=calendar)
    for plan_code, by_urgency in SLA_TARGETS.items():
        for urgency, (first, following, resolution) in by_urgency.items():
            SlaTarget.objects.update_or_create(
                plan=plans[plan_code],
                urgency=urgency,
                defaults={
                    "first_response_minutes": first,
                    "next_response_minutes": following,
                    "resolution_minutes": resolution,
                },
            )
    for urgency, (first, following, resolution) in SLA_TARGETS["self-service"].items():
        SlaTarget.objects.update_or_create(
            plan=None,
            urgency=urgency,
            defaults={
                "first_response_minutes": first,
                "next_response_minutes": following,
                "resolution_minutes": resolution,
            },
        )
    SlaPolicy.current()
    # Hardware replacement: 24 h for disks and power on every plan, 72 h for the rest, 24 h on Business and up.
    for component in Component.values:
        hours = 24 if component in (Component.DISK, Component.POWER) else 72
        HardwareWindow.objects.update_or_create(plan=None, component=component, defaults={"hours": hours})
        for code in ("business", "enterprise"):
            HardwareWindow.objects.update_or_create(plan=plans[code], component=component, defaults={"hours": 24})


def upsert_queue() -> None:
    """FirstVDS' prices: 200 RUB to the very front, 50 RUB right behind the first."""
    QueuePolicy.current()
    for kind, price in ((BoostKind.FRONT, 200), (BoostKind.BEHIND_FIRST, 50)):
        BoostPrice.objects.update_or_create(plan=None, kind=kind, defaults={"price": Decimal(price)})
    for username in ("customer", "newcustomer"):
        user = User.objects.get(username=username)
        BalanceEntry.objects.get_or_create(
            reference=f"demo:welcome:{username}",
            defaults={
                "customer": user,
                "kind": BalanceEntry.Kind.CREDIT,
                "amount": Decimal(500),
                "description": "Demo balance",
            },
        )


def upsert_staff(lines: dict[str, Line], password_hash: str) -> dict[str, list[User]]:
    """Agents per line with realistic headcounts, plus managers, quality and an admin."""
    named = {"first-line": "agent", "consultants": "consultant", "administrators": "sysadmin",
             "finance": "finance", "sales": "sales"}  # fmt: skip
    staff: dict[str, list[User]] = {}
    name_index = 0
    for code, _name, _name_ru, _kind, _level, headcount, _description in LINES:
        members = []
        for i in range(headcount):
            username = named[code] if i == 0 else f"{named[code]}{i + 1}"
            first_name = AGENT_NAMES[name_index % len(AGENT_NAMES)]
            name_index += 1
            user = _upsert_user(
                username,
                role=Role.AGENT,
                password_hash=password_hash,
                first_name=first_name,
                email=f"{username}@support.example.net",
                language="ru",
            )
            AgentProfile.objects.get_or_create(
                user=user, defaults={"display_name": first_name, "languages": ["ru", "en"] if i % 2 else ["ru"]}
            )
            LineMembership.objects.get_or_create(line=lines[code], user=user, defaults={"is_lead": i == 0})
            members.append(user)
        staff[code] = members
    for username, role, first_name, is_staff in [
        ("manager", Role.MANAGER, "Виктор", False),
        ("quality", Role.QUALITY, "Людмила", False),
        ("admin", Role.ADMIN, "Admin", True),
    ]:
        user = _upsert_user(
            username,
            role=role,
            password_hash=password_hash,
            first_name=first_name,
            email=f"{username}@support.example.net",
            is_staff=is_staff,
            is_superuser=is_staff,
        )
        AgentProfile.objects.get_or_create(user=user, defaults={"display_name": first_name, "languages": ["ru", "en"]})
    return staff


def upsert_templates(lines: dict[str, Line]) -> None:
    for position, (code, (title_en, title_ru), body_ru, body_en) in enumerate(FIRST_LINE_TEMPLATES):
        for language, title, body in (("ru", title_ru, body_ru), ("en", title_en, body_en)):
            ReplyTemplate.objects.update_or_create(
                line=lines["first-line"],
                code=code,
                language=language,
                defaults={"title": title, "body": body, "position": position},
            )


def upsert_customers(size: DemoSize, plans: dict[str, Plan], password_hash: str, today: dt.date, rng) -> list[int]:
    """2,000 customers with a spread of tenure, spend and request habits; ids in a stable order."""
    support_plans = [p for p in PLANS if p[2] == Plan.Kind.SUPPORT_LEVEL]
    organisations = []
    for i in range(size.customers // 10):
        org, _ = Organisation.objects.get_or_create(name=f"ООО «Демо {i + 1:03d}»")
        organisations.append(org)
    existing = set(User.objects.filter(username__startswith=CUSTOMER_PREFIX).values_list("username", flat=True))
    users, profiles = [], []
    for i in range(size.customers):
        username = f"{CUSTOMER_PREFIX}{i + 1:04d}"
        # Draw every random number even for existing customers so the sequence stays stable.
        tenure_days = int(min(365 * 12, rng.expovariate(1 / 900)))
        spend_12m = round(rng.lognormvariate(8.5, 1.2), 2)
        habit = rng.paretovariate(1.6)  # a few customers ask a lot
        plan_code = rng.choices([p[0] for p in support_plans], weights=[p[8] for p in support_plans])[0]
        package_roll = rng.random()
        flags = rng.random()
        language = "ru" if rng.random() < 0.8 else "en"
        org = organisations[i % len(organisations)] if organisations and rng.random() < 0.3 else None
        if username in existing:
            continue
        user = User(
            username=username,
            email=f"{username}@customers.example.com",
            first_name=f"Клиент {i + 1}",
            role=Role.CUSTOMER,
            password=password_hash,
            language=language,
            organisation=org,
        )
        users.append(user)
        package = None
        if package_roll < 0.01:
            package = plans["admin-premium"]
        elif package_roll < 0.09:
            package = plans["admin-basic"]
        years = tenure_days / 365
        profiles.append(
            CustomerProfile(
                customer_since=today - dt.timedelta(days=tenure_days),
                spend_12m=Decimal(str(spend_12m)),
                lifetime_spend=Decimal(str(round(spend_12m * max(1.0, years) * rng.uniform(0.8, 1.2), 2))),
                support_plan=plans[plan_code],
                admin_package=package,
                requests_12m=int(habit * 4),
                requests_total=int(habit * 4 * max(1.0, years)),
                is_vip=flags < 0.03,
                is_problematic=0.03 <= flags < 0.07,
            )
        )
    User.objects.bulk_create(users, batch_size=1000)
    created = {u.username: u.id for u in User.objects.filter(username__in=[u.username for u in users])}
    for user, profile in zip(users, profiles, strict=True):
        profile.user_id = created[user.username]
    CustomerProfile.objects.bulk_create(profiles, batch_size=1000)
    return list(
        User.objects.filter(username__startswith=CUSTOMER_PREFIX).order_by("username").values_list("id", flat=True)
    )


def upsert_named_customers(plans: dict[str, Plan], password_hash: str, today: dt.date) -> None:
    for username, years, plan, vip, spend in [
        ("customer", 8, "business", True, 480000),
        ("newcustomer", 0, "self-service", False, 900),
    ]:
        user = _upsert_user(
            username,
            role=Role.CUSTOMER,
            password_hash=password_hash,
            first_name="Ольга" if username == "customer" else "Пётр",
            email=f"{username}@customers.example.com",
            language="ru",
        )
        CustomerProfile.objects.get_or_create(
            user=user,
            defaults={
                "customer_since": today - dt.timedelta(days=365 * years + 30),
                "spend_12m": Decimal(spend),
                "lifetime_spend": Decimal(spend * max(1, years)),
                "support_plan": plans[plan],
                "is_vip": vip,
                "requests_12m": 6 if years else 1,
                "requests_total": 40 if years else 1,
            },
        )


def _moment(day: dt.date, rng) -> dt.datetime:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    local = dt.datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=MOSCOW)
    return local.astimezone(dt.UTC)


TRANSFER_REASONS = [
    "Нужна проверка на сервере, передаю техническим специалистам.",
    "Requires the engineers: passing it on.",
    "Вопрос за пределами первой линии.",
]
SHOWCASE_SUBJECT = "Сайт открывается очень медленно"


@dataclass
class Story:
    """One demo ticket: its row, its messages (author id, kind, body, at) and its history, as
    steps in the order they happened: (kind, actor id, at, details) where the details are what
    DemoEvents needs to write that kind's data."""

    ticket: dict
    messages: list[tuple]
    steps: list[tuple]
    stints: list[tuple]  # (line id, entered, left)


class TicketLife:
    """Writes a ticket's life the way the services would have: each change with its events."""

    def __init__(self, *, customer: int, line_code: str, created: dt.datetime, filed_by: User | None):
        self.customer = customer
        self.line_code = line_code
        self.status = Status.NEW
        self.assignee: User | None = None
        self.messages: list[tuple] = []
        self.steps: list[tuple] = [(EventKind.CREATED, filed_by.id if filed_by else customer, created, (line_code,))]
        self.line_entered_at = created
        self.stints = [[line_code, created, None]]

    def _status(self, new: str, actor: int | None, at: dt.datetime, reason_code: str | None = None) -> None:
        if new != self.status:
            self.steps.append((EventKind.STATUS, actor, at, (self.status, new, reason_code)))
            self.status = new

    def take(self, agent: User, at: dt.datetime) -> None:
        """ticket_take (and take-next): assigned to the agent, in progress."""
        self.steps.append((EventKind.ASSIGN, agent.id, at, (self.line_code, None, agent.username)))
        self.assignee = agent
        self._status(Status.IN_PROGRESS, agent.id, at)

    def transfer(self, agent: User, to_line: str, reason: str, at: dt.datetime) -> None:
        """ticket_transfer: to another line's queue, with a line in the thread."""
        seconds = int((at - self.line_entered_at).total_seconds())
        self.steps.append((EventKind.TRANSFER, agent.id, at, (self.line_code, to_line, reason, seconds)))
        self.stints[-1][2] = at
        self.stints.append([to_line, at, None])
        self.line_code, self.line_entered_at = to_line, at
        if self.assignee is not None:
            self.steps.append((EventKind.ASSIGN, agent.id, at, (to_line, self.assignee.username, None)))
            self.assignee = None
        self._status(Status.WAITING_AGENT, agent.id, at, SystemReason.TRANSFERRED)
        self._message(agent.id, None, Message.Kind.SYSTEM, "Передано на следующий уровень поддержки.", at)

    def agent_replies(self, agent: User, body: str, at: dt.datetime, *, wait_for_customer: bool) -> None:
        """message_add by staff: a public reply; waiting for the customer when asked."""
        self._message(agent.id, agent.id, Message.Kind.PUBLIC, body, at)
        if wait_for_customer:
            self._status(Status.WAITING_CUSTOMER, agent.id, at, SystemReason.AGENT_REPLIED)

    def customer_replies(self, body: str, at: dt.datetime) -> None:
        """message_add by the customer: back to the agents when the ticket waited for them."""
        self._message(self.customer, self.customer, Message.Kind.PUBLIC, body, at)
        if self.status == Status.WAITING_CUSTOMER:
            self._status(Status.WAITING_AGENT, self.customer, at, SystemReason.CUSTOMER_REPLIED)

    def resolve(self, agent: User, at: dt.datetime) -> None:
        self._status(Status.RESOLVED, agent.id, at)

    def confirm(self, at: dt.datetime) -> None:
        """ticket_confirm: the customer confirms the solution and the ticket closes."""
        self._status(Status.CLOSED, self.customer, at, SystemReason.CONFIRMED)
        self.stints[-1][2] = at

    def _message(self, actor: int | None, author: int | None, kind: str, body: str, at: dt.datetime) -> None:
        self.steps.append((EventKind.MESSAGE, actor, at, (len(self.messages),)))
        self.messages.append((author, kind, body, at))


def history_rows(size: DemoSize, *, customers: list[int], staff, lines, until: dt.date, rng, showcase: int | None):
    """Yield a Story per ticket for the year before `until`, newest open, older closed: each with
    the whole history that brought it to its state (created, taken, transferred, replies, status
    changes, resolved and confirmed), as the services write it."""
    days = size.months * 30
    start = until - dt.timedelta(days=days)
    mean_daily = size.requests_per_month * 12 / 365
    mean_weight = sum(WEEKDAY_WEIGHTS) / 7
    # Customers who ask more appear more often (the Pareto "habit" drawn above).
    habits = [rng.paretovariate(1.6) for _ in customers]
    cumulative_habits = list(itertools.accumulate(habits))
    categories = [c for c, _share, _line in CATEGORY_MIX]
    shares = [share for _c, share, _line in CATEGORY_MIX]
    first_lines = {c: line for c, _share, line in CATEGORY_MIX}
    # The history runs up to the end of `until`, or up to this moment when that is today.
    end_of_day = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0, tzinfo=MOSCOW)).astimezone(dt.UTC)
    now = min(end_of_day, dt.datetime.now(dt.UTC)) if until >= dt.datetime.now(MOSCOW).date() else end_of_day
    start = start + dt.timedelta(days=1)  # the last `days` days, ending with `until`
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        expected = mean_daily * WEEKDAY_WEIGHTS[day.weekday()] / mean_weight
        count = max(0, int(rng.gauss(expected, math.sqrt(expected))))
        for _ in range(count):
            created = _moment(day, rng)
            customer = rng.choices(customers, cum_weights=cumulative_habits)[0]
            category = rng.choices(categories, weights=shares)[0]
            entry_line = first_lines[category]
            urgency = rng.choices([Urgency.NORMAL, Urgency.HIGH, Urgency.CRITICAL], weights=[0.86, 0.11, 0.03])[0]
            channel = rng.choices(
                [Channel.PANEL, Channel.FORM, Channel.EMAIL, Channel.CHAT, Channel.PHONE, Channel.API],
                weights=[0.62, 0.1, 0.14, 0.08, 0.04, 0.02],
            )[0]
            # Two thirds of what starts at the first line is solved there.
            solved_first = entry_line == "first-line" and (
                category in (Category.GENERAL, Category.TECH_SIMPLE) or rng.random() < 0.25
            )
            line_code = entry_line
            if entry_line == "first-line" and not solved_first:
                line_code = "administrators" if category == Category.TECH_COMPLEX else "consultants"
            reaction = dt.timedelta(minutes=max(1.0, rng.lognormvariate(math.log(11), 0.6)))
            handling = dt.timedelta(minutes=max(5.0, rng.lognormvariate(math.log(90), 1.1)))
            age = now - created
            if age < dt.timedelta(0):
                continue  # later today: not happened yet
            if age < reaction or (age < dt.timedelta(hours=3) and rng.random() < 0.5):
                # The last hours keep a backlog in the queues.
                status = Status.WAITING_AGENT
            elif age < reaction + handling:
                status = rng.choice([Status.IN_PROGRESS, Status.WAITING_CUSTOMER])
            elif age < reaction + handling + dt.timedelta(days=3):
                status = Status.RESOLVED
            else:
                status = Status.CLOSED
            agent = rng.choice(staff[line_code])
            triage = rng.choice(staff[entry_line])
            subject = rng.choice(SUBJECTS[category])
            reply = rng.choice(REPLIES)
            customer_reply = rng.choice(CUSTOMER_REPLIES) if rng.random() < 0.6 else None
            confirmed_after = dt.timedelta(hours=rng.uniform(0.5, 72))
            transfer_reason = rng.choice(TRANSFER_REASONS)

            # Phone and chat requests are filed by an agent of the line on the customer's behalf.
            filed_by = triage if channel in (Channel.PHONE, Channel.CHAT) else None
            life = TicketLife(customer=customer, line_code=entry_line, created=created, filed_by=filed_by)
            # The first line passes on what it does not solve soon after it arrives.
            transfer_at = created + reaction * 0.4
            if line_code != entry_line and now >= transfer_at:
                life.transfer(triage, line_code, transfer_reason, transfer_at)
            first_response = resolved = closed = None
            if status != Status.WAITING_AGENT:
                first_response = created + reaction
                life.take(agent, created + reaction * 0.8)
                waits = status == Status.WAITING_CUSTOMER
                life.agent_replies(agent, reply, first_response, wait_for_customer=waits)
                answered_at = first_response + handling / 2
                if customer_reply and not waits and answered_at <= now:
                    life.customer_replies(customer_reply, answered_at)
                if status in (Status.RESOLVED, Status.CLOSED):
                    resolved = first_response + handling
                    life.resolve(agent, resolved)
                if status == Status.CLOSED:
                    closed = resolved + confirmed_after
                    life.confirm(closed)
            yield _story(
                life,
                subject=subject,
                category=category,
                channel=channel,
                urgency=urgency,
                lines=lines,
                created=created,
                first_response=first_response,
                resolved=resolved,
                closed=closed,
                solved_first=solved_first,
            )
    if showcase is not None:
        # The demo's own customer has a request waiting in the first line's queue right now,
        # so their control panel shows its place and the estimated wait.
        created = now - dt.timedelta(minutes=12)
        life = TicketLife(customer=showcase, line_code="first-line", created=created, filed_by=None)
        yield _story(
            life,
            subject=SHOWCASE_SUBJECT,
            category=Category.TECH_SIMPLE,
            channel=Channel.PANEL,
            urgency=Urgency.NORMAL,
            lines=lines,
            created=created,
            first_response=None,
            resolved=None,
            closed=None,
            solved_first=True,
        )


def _story(
    life: TicketLife,
    *,
    subject,
    category,
    channel,
    urgency,
    lines,
    created,
    first_response,
    resolved,
    closed,
    solved_first,
) -> Story:
    last_activity = max([created] + [m[3] for m in life.messages] + [t for t in (resolved, closed) if t])
    ticket = {
        "subject": subject,
        "body": subject + "\n\nПодробности во вложении к обращению.",
        "category": category,
        "channel": channel,
        "urgency": urgency,
        "status": life.status,
        "line_id": lines[life.line_code].id,
        "assignee_id": life.assignee.id if life.assignee else None,
        "customer_id": life.customer,
        "created_at": created,
        "last_activity_at": last_activity,
        "first_response_at": first_response,
        "resolved_at": resolved,
        "closed_at": closed,
        # Worked out on closing (tickets.services): solved where it started, at level 1.
        "solved_at_first_level": (solved_first and len(life.stints) == 1) if closed else None,
        # Queued again on a transfer; the line's clock starts when it arrived there.
        "line_entered_at": life.line_entered_at,
    }
    stints = [(lines[code].id, entered, left) for code, entered, left in life.stints]
    return Story(ticket=ticket, messages=life.messages, steps=life.steps, stints=stints)


def _json(data: dict) -> str:
    # Letters as they are: fewer backslashes for COPY to escape. PostgreSQL stores the same jsonb.
    return json.dumps(data, ensure_ascii=False)


class DemoEvents:
    """The history's data exactly as tickets.events builds it. Each builder runs once per
    distinct shape (the same lines, people and change); what differs from row to row (a
    message's id, the seconds spent in a line) is then put into the data the builder made."""

    def __init__(self, lines: dict[str, Line]):
        self._lines = lines
        self._ticket = Ticket(line=next(iter(lines.values())), channel=Channel.PANEL, urgency=Urgency.NORMAL)
        self._people: dict[str, User] = {}
        self._cache: dict[tuple, str | dict] = {}

    def _on(self, line_code: str, **fields) -> Ticket:
        self._ticket.line = self._lines[line_code]
        for name, value in fields.items():
            setattr(self._ticket, name, value)
        return self._ticket

    def _person(self, username: str | None) -> User | None:
        if username is None:
            return None
        if username not in self._people:
            self._people[username] = User(username=username)
        return self._people[username]

    def _once(self, key: tuple, build) -> str | dict:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def created(self, line_code: str, channel: str, urgency: str) -> str:
        return self._once(
            ("created", line_code, channel, urgency),
            lambda: _json(events.build_created(self._on(line_code, channel=channel, urgency=urgency), None).data),
        )

    def assigned(self, line_code: str, old: str | None, new: str | None) -> str:
        return self._once(
            ("assign", line_code, old, new),
            lambda: _json(
                events.build_assignee_changed(
                    self._on(line_code), None, old=self._person(old), new=self._person(new)
                ).data
            ),
        )

    def status(self, old: str, new: str, reason_code: str | None) -> str:
        def build():
            reason = events.system_reason(reason_code) if reason_code else ""
            return _json(events.build_status_changed(self._ticket, None, old=old, new=new, reason=reason).data)

        return self._once(("status", old, new, reason_code), build)

    def transferred(self, old: str, new: str, reason: str, seconds: int) -> str:
        data = self._once(
            ("transfer", old, new, reason),
            lambda: (
                events.build_transferred(
                    self._ticket,
                    None,
                    old_line=self._lines[old],
                    new_line=self._lines[new],
                    reason=reason,
                    seconds_in_old_line=0,
                ).data
            ),
        )
        return _json({**data, "seconds_in_old_line": seconds})

    def message(self, kind: str, message_id: int) -> str:
        data = self._once(
            ("message", kind),
            lambda: events.build_message_added(self._ticket, None, message=Message(id=0, kind=kind)).data,
        )
        return _json({**data, "message_id": message_id})


TICKET_COLUMNS = [
    "id", "number", "subject", "body", "category", "service", "channel", "urgency", "status", "line_id",
    "assignee_id", "customer_id", "organisation_id", "language", "created_at", "updated_at", "last_activity_at",
    "first_response_at", "resolved_at", "closed_at", "solved_at_first_level", "line_entered_at",
    "queued_at", "virtual_time",
]  # fmt: skip
MESSAGE_COLUMNS = ["id", "ticket_id", "author_id", "kind", "body", "created_at"]
EVENT_COLUMNS = ["ticket_id", "kind", "actor_id", "data", "created_at"]


def write_history(
    size: DemoSize, *, customers, staff, lines, until: dt.date, rng, showcase: int | None = None, progress=None
) -> tuple[int, int]:
    stories = list(
        history_rows(size, customers=customers, staff=staff, lines=lines, until=until, rng=rng, showcase=showcase)
    )
    stories.sort(key=lambda story: story.ticket["created_at"])  # numbers follow creation time
    ticket_ids = bulk.reserve_ids(Ticket._meta.db_table, len(stories))
    numbers = bulk.reserve_ticket_numbers(len(stories))
    message_ids = bulk.reserve_ids(Message._meta.db_table, sum(len(story.messages) for story in stories))
    # Where each ticket's messages start among the reserved ids.
    first_message = list(itertools.accumulate((len(story.messages) for story in stories), initial=0))
    organisations = dict(User.objects.filter(id__in=customers).values_list("id", "organisation_id"))
    languages = dict(User.objects.filter(id__in=customers).values_list("id", "language"))

    def ticket_rows():
        for ticket_id, number, story in zip(ticket_ids, numbers, stories, strict=True):
            t = story.ticket
            yield (
                ticket_id, number, t["subject"], t["body"], t["category"], "", t["channel"], t["urgency"],
                t["status"], t["line_id"], t["assignee_id"], t["customer_id"], organisations[t["customer_id"]],
                languages[t["customer_id"]], t["created_at"], t["last_activity_at"], t["last_activity_at"],
                t["first_response_at"], t["resolved_at"], t["closed_at"], t["solved_at_first_level"],
                t["line_entered_at"], t["line_entered_at"], t["line_entered_at"],
            )  # fmt: skip

    def message_rows():
        for index, (ticket_id, story) in enumerate(zip(ticket_ids, stories, strict=True)):
            for offset, (author, kind, body, created) in enumerate(story.messages):
                yield (message_ids[first_message[index] + offset], ticket_id, author, kind, body, created)

    history_tables = [model._meta.db_table for model in (Ticket, Message, LineStint, TicketEvent)]
    with bulk.foreign_keys_checked_at_the_end(*history_tables):
        tickets = bulk.copy_rows(Ticket._meta.db_table, TICKET_COLUMNS, ticket_rows())
        if progress:
            progress(f"{tickets} tickets written")
        messages = bulk.copy_rows(Message._meta.db_table, MESSAGE_COLUMNS, message_rows())
        if progress:
            progress(f"{messages} messages written")
        _write_events(stories, ticket_ids, message_ids, first_message, lines, progress)
    return tickets, messages


def _write_events(stories, ticket_ids, message_ids, first_message, lines, progress) -> None:
    """The line stints and the history events of the stories, whose tickets and messages are written."""

    def stint_rows():
        for ticket_id, story in zip(ticket_ids, stories, strict=True):
            for line_id, entered, left in story.stints:
                yield (ticket_id, line_id, entered, left)

    vocabulary = DemoEvents(lines)

    def event_rows():
        for index, (ticket_id, story) in enumerate(zip(ticket_ids, stories, strict=True)):
            t = story.ticket
            for kind, actor, at, details in story.steps:
                if kind == EventKind.MESSAGE:
                    (offset,) = details
                    data = vocabulary.message(story.messages[offset][1], message_ids[first_message[index] + offset])
                elif kind == EventKind.STATUS:
                    data = vocabulary.status(*details)
                elif kind == EventKind.ASSIGN:
                    data = vocabulary.assigned(*details)
                elif kind == EventKind.TRANSFER:
                    data = vocabulary.transferred(*details)
                else:
                    (line_code,) = details
                    data = vocabulary.created(line_code, t["channel"], t["urgency"])
                yield (ticket_id, kind, actor, data, at)

    bulk.copy_rows(LineStint._meta.db_table, ["ticket_id", "line_id", "entered_at", "left_at"], stint_rows())
    written = bulk.copy_rows(TicketEvent._meta.db_table, EVENT_COLUMNS, event_rows())
    if progress:
        progress(f"{written} history events written")


def demo_loaded() -> bool:
    return Ticket.objects.filter(customer__username__startswith=CUSTOMER_PREFIX).exists()


def load_demo(*, size: DemoSize = DemoSize(), until: dt.date, progress=None) -> dict[str, int]:
    """Create or complete the demo data set; returns what was written."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    password_hash = _hash(DEMO_PASSWORD)
    with transaction.atomic():
        # One loader at a time: a second `make run` waits rather than duplicating rows.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('helpdesk.load_demo'))")
        plans = upsert_plans()
        lines = upsert_lines()
        staff = upsert_staff(lines, password_hash)
        upsert_demo_shifts(lines, staff)
        upsert_templates(lines)
        upsert_demo_help_centre()
        upsert_routing(lines)
        upsert_sla(plans, lines)
        upsert_named_customers(plans, password_hash, until)
        customers = upsert_customers(size, plans, password_hash, until, rng)
        upsert_queue()
        showcase = User.objects.get(username="customer").id
        customers.append(showcase)
        # The catalogue, who uses what (the showcase customer: cloud servers in Moscow), 90 days of status.
        upsert_demo_status(customer_ids=[showcase, *customers[:-1]], manager=User.objects.get(username="manager"))
        written = {"tickets": 0, "messages": 0}
        if not demo_loaded():
            tickets, messages = write_history(
                size,
                customers=customers,
                staff=staff,
                lines=lines,
                until=until,
                rng=rng,
                showcase=showcase,
                progress=progress,
            )
            written = {"tickets": tickets, "messages": messages}
            # The deadlines and records the SLA sweep would have left over that history.
            demo_tickets = list(Ticket.objects.filter(customer_id__in=customers).values_list("id", flat=True))
            write_demo_sla(ticket_ids=demo_tickets, now=history_now(until))
        # Customers' ratings of the latest replies and the quality desk's reviews (once).
        upsert_demo_quality()
    if written["tickets"]:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tickets_ticket; ANALYZE tickets_message; ANALYZE tickets_ticketevent")
    return written
