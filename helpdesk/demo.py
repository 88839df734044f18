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
from queues.models import BalanceEntry, BoostKind, BoostPrice, Line, LineMembership, QueuePolicy, RoutingRule
from shifts.demo import upsert_demo_shifts
from sla.models import BusinessCalendar, Component, HardwareWindow, SlaPolicy, SlaTarget, WorkingInterval
from tickets.models import Category, Channel, LineStint, Message, ReplyTemplate, Status, Ticket, TicketEvent, Urgency

MOSCOW = ZoneInfo("Europe/Moscow")
SEED = 20131001
CUSTOMER_PREFIX = "demo-customer-"

# Relative request volume per weekday (Monday first): weekend activity, a Monday dip.
WEEKDAY_WEIGHTS = [0.78, 1.0, 1.0, 0.97, 0.95, 1.08, 1.12]
# Per hour of the day, Moscow time: quiet night, peaks before (11-12) and after (14-16)
# lunch, a dip at lunch, and a late-evening rise (21-23).
HOUR_WEIGHTS = [
    1.2, 0.8, 0.5, 0.4, 0.4, 0.5, 0.8, 1.5, 2.8, 4.2, 5.4, 6.2,
    5.9, 4.4, 5.6, 6.0, 5.5, 4.6, 3.8, 3.6, 4.2, 5.0, 5.2, 3.0,
]  # fmt: skip

PLANS = [
    # code, name, kind, level, price, tasks, extra task price, response hours, share of customers
    ("self-service", "Self-service", Plan.Kind.SUPPORT_LEVEL, 0, 0, None, None, None, 0.55),
    ("standard", "Standard", Plan.Kind.SUPPORT_LEVEL, 1, 0, None, None, 24, 0.28),
    ("business", "Business", Plan.Kind.SUPPORT_LEVEL, 2, 3500, None, None, 4, 0.13),
    ("enterprise", "Enterprise", Plan.Kind.SUPPORT_LEVEL, 3, 25000, None, None, 1, 0.04),
    ("admin-basic", "Basic administration", Plan.Kind.ADMIN_PACKAGE, 1, 250, 5, 150, 24, 0.08),
    ("admin-premium", "Premium administration", Plan.Kind.ADMIN_PACKAGE, 2, 2000, 10, 150, 5, 0.01),
]

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


def history_rows(size: DemoSize, *, customers: list[int], staff, lines, until: dt.date, rng):
    """Yield (ticket row, [message rows]) for the year before `until`, newest open, older closed."""
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
            line_code = first_lines[category]
            urgency = rng.choices([Urgency.NORMAL, Urgency.HIGH, Urgency.CRITICAL], weights=[0.86, 0.11, 0.03])[0]
            channel = rng.choices(
                [Channel.PANEL, Channel.FORM, Channel.EMAIL, Channel.CHAT, Channel.PHONE, Channel.API],
                weights=[0.62, 0.1, 0.14, 0.08, 0.04, 0.02],
            )[0]
            # Two thirds of what starts at the first line is solved there.
            solved_first = line_code == "first-line" and (
                category in (Category.GENERAL, Category.TECH_SIMPLE) or rng.random() < 0.25
            )
            if line_code == "first-line" and not solved_first:
                line_code = "administrators" if category == Category.TECH_COMPLEX else "consultants"
            reaction = dt.timedelta(minutes=max(1.0, rng.lognormvariate(math.log(11), 0.6)))
            handling = dt.timedelta(minutes=max(5.0, rng.lognormvariate(math.log(90), 1.1)))
            age = now - created
            if age < dt.timedelta(0):
                continue  # later today: not happened yet
            if age < reaction or (age < dt.timedelta(hours=3) and rng.random() < 0.5):
                # The last hours keep a backlog in the queues.
                status, first_response, resolved, closed = Status.WAITING_AGENT, None, None, None
            elif age < reaction + handling:
                status = rng.choice([Status.IN_PROGRESS, Status.WAITING_CUSTOMER])
                first_response, resolved, closed = created + reaction, None, None
            elif age < reaction + handling + dt.timedelta(days=3):
                status = Status.RESOLVED
                first_response, resolved, closed = created + reaction, created + reaction + handling, None
            else:
                status = Status.CLOSED
                first_response = created + reaction
                resolved = created + reaction + handling
                closed = resolved + dt.timedelta(hours=rng.uniform(0.5, 72))
            agent = rng.choice(staff[line_code]).id if first_response else None
            subject = rng.choice(SUBJECTS[category])
            messages = []
            if first_response:
                messages.append((agent, "public", rng.choice(REPLIES), first_response))
                if rng.random() < 0.6:
                    messages.append((None, "public", rng.choice(CUSTOMER_REPLIES), first_response + handling / 2))
            if line_code != first_lines[category]:
                messages.insert(0, (None, "system", "Передано на следующий уровень поддержки.", created + reaction / 2))
            last_activity = max([created] + [m[3] for m in messages] + [t for t in (resolved, closed) if t])
            ticket = {
                "subject": subject,
                "body": subject + "\n\nПодробности во вложении к обращению.",
                "category": category,
                "channel": channel,
                "urgency": urgency,
                "status": status,
                "line_id": lines[line_code].id,
                "assignee_id": agent if status in (Status.IN_PROGRESS, Status.WAITING_CUSTOMER) else None,
                "customer_id": customer,
                "created_at": created,
                "last_activity_at": last_activity,
                "first_response_at": first_response,
                "resolved_at": resolved,
                "closed_at": closed,
                "solved_at_first_level": (solved_first if resolved else None),
            }
            yield ticket, messages


TICKET_COLUMNS = [
    "id", "number", "subject", "body", "category", "service", "channel", "urgency", "status", "line_id",
    "assignee_id", "customer_id", "organisation_id", "language", "created_at", "updated_at", "last_activity_at",
    "first_response_at", "resolved_at", "closed_at", "solved_at_first_level", "line_entered_at",
    "queued_at", "virtual_time",
]  # fmt: skip
MESSAGE_COLUMNS = ["id", "ticket_id", "author_id", "kind", "body", "created_at"]


def write_history(size: DemoSize, *, customers, staff, lines, until: dt.date, rng, progress=None) -> tuple[int, int]:
    generated = list(history_rows(size, customers=customers, staff=staff, lines=lines, until=until, rng=rng))
    generated.sort(key=lambda item: item[0]["created_at"])  # numbers follow creation time
    ticket_ids = bulk.reserve_ids(Ticket._meta.db_table, len(generated))
    numbers = bulk.reserve_ticket_numbers(len(generated))
    message_count = sum(len(messages) for _t, messages in generated)
    message_ids = iter(bulk.reserve_ids(Message._meta.db_table, message_count))
    organisations = dict(User.objects.filter(id__in=customers).values_list("id", "organisation_id"))
    languages = dict(User.objects.filter(id__in=customers).values_list("id", "language"))

    def ticket_rows():
        for ticket_id, number, (t, _messages) in zip(ticket_ids, numbers, generated, strict=True):
            yield (
                ticket_id, number, t["subject"], t["body"], t["category"], "", t["channel"], t["urgency"],
                t["status"], t["line_id"], t["assignee_id"], t["customer_id"], organisations[t["customer_id"]],
                languages[t["customer_id"]], t["created_at"], t["last_activity_at"], t["last_activity_at"],
                t["first_response_at"], t["resolved_at"], t["closed_at"], t["solved_at_first_level"],
                t["created_at"], t["created_at"], t["created_at"],
            )  # fmt: skip

    def message_rows():
        for ticket_id, (t, messages) in zip(ticket_ids, generated, strict=True):
            for author, kind, body, created in messages:
                yield (
                    next(message_ids),
                    ticket_id,
                    author if author else (None if kind == "system" else t["customer_id"]),
                    kind,
                    body,
                    created,
                )

    tickets = bulk.copy_rows(Ticket._meta.db_table, TICKET_COLUMNS, ticket_rows())
    if progress:
        progress(f"{tickets} tickets written")
    messages = bulk.copy_rows(Message._meta.db_table, MESSAGE_COLUMNS, message_rows())
    if progress:
        progress(f"{messages} messages written")

    def stint_rows():
        # The line that holds each ticket, from its creation (closed tickets left it on closing).
        for ticket_id, (t, _messages) in zip(ticket_ids, generated, strict=True):
            yield (ticket_id, t["line_id"], t["created_at"], t["closed_at"])

    def event_rows():
        for ticket_id, (t, _messages) in zip(ticket_ids, generated, strict=True):
            data = json.dumps({"line": line_codes[t["line_id"]], "channel": t["channel"], "urgency": t["urgency"]})
            yield (ticket_id, "created", t["customer_id"], data, t["created_at"])

    line_codes = {line.id: line.code for line in lines.values()}
    bulk.copy_rows(LineStint._meta.db_table, ["ticket_id", "line_id", "entered_at", "left_at"], stint_rows())
    bulk.copy_rows(TicketEvent._meta.db_table, ["ticket_id", "kind", "actor_id", "data", "created_at"], event_rows())
    return tickets, messages


def demo_loaded() -> bool:
    return Ticket.objects.filter(customer__username__startswith=CUSTOMER_PREFIX).exists()


def load_demo(*, size: DemoSize = DemoSize(), until: dt.date, progress=None) -> dict[str, int]:  # noqa: B008
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
        upsert_routing(lines)
        upsert_sla(plans, lines)
        upsert_named_customers(plans, password_hash, until)
        customers = upsert_customers(size, plans, password_hash, until, rng)
        upsert_queue()
        customers.append(User.objects.get(username="customer").id)
        written = {"tickets": 0, "messages": 0}
        if not demo_loaded():
            tickets, messages = write_history(
                size, customers=customers, staff=staff, lines=lines, until=until, rng=rng, progress=progress
            )
            written = {"tickets": tickets, "messages": messages}
    if written["tickets"]:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tickets_ticket; ANALYZE tickets_message")
    return written
