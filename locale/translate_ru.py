"""Fill Russian translations into locale/ru/LC_MESSAGES/django.po from the table below.

Run after `make messages` adds new strings; entries already translated are kept.
"""

import re
import sys
from pathlib import Path

RU = {
    "Helpdesk": "Служба поддержки",
    "Wrong username or password.": "Неверное имя пользователя или пароль.",
    "Accounts": "Учётные записи",
    "Customer": "Клиент",
    "Agent": "Сотрудник поддержки",
    "Manager": "Руководитель",
    "Quality reviewer": "Отдел качества",
    "Administrator": "Администратор",
    "name": "название",
    "created at": "создано",
    "organisation": "организация",
    "organisations": "организации",
    "role": "роль",
    "language": "язык",
    "user": "пользователь",
    "users": "пользователи",
    "Support level": "Уровень поддержки",
    "Administration package": "Пакет администрирования",
    "code": "код",
    "kind": "вид",
    "level": "уровень",
    "Higher is better served.": "Чем выше, тем лучше обслуживание.",
    "monthly price": "цена в месяц",
    "currency": "валюта",
    "tasks per month": "задач в месяц",
    "price of an extra task": "цена дополнительной задачи",
    "answer within (hours)": "ответ в течение (часов)",
    "description": "описание",
    "plan": "тариф",
    "plans": "тарифы",
    "customer since": "клиент с",
    "lifetime spend": "оплачено за всё время",
    "spend, last 12 months": "оплачено за 12 месяцев",
    "support plan": "тариф поддержки",
    "administration package": "пакет администрирования",
    "requests, all time": "обращений за всё время",
    "requests, last 12 months": "обращений за 12 месяцев",
    "VIP": "VIP",
    "problematic": "проблемный",
    "sees the organisation's tickets": "видит обращения организации",
    "customer profile": "профиль клиента",
    "customer profiles": "профили клиентов",
    "display name": "отображаемое имя",
    "The name customers see under answers.": "Имя, которое клиенты видят под ответами.",
    "languages": "языки",
    "agent profile": "профиль сотрудника",
    "agent profiles": "профили сотрудников",
    "Unsupported language “%(language)s”; choose one of: %(choices)s.": (
        "Язык «%(language)s» не поддерживается; выберите один из: %(choices)s."
    ),
    "This account is disabled.": "Эта учётная запись отключена.",
    "Chat": "Чат",
    "Control panel": "Панель управления",
    "Workspace": "Рабочее место",
    "Management": "Управление",
    "Admin": "Администрирование",
    "English": "Английский",
    "Russian": "Русский",
    "Areas": "Разделы",
    "Language": "Язык",
    "Switch": "Переключить",
    "Log out": "Выйти",
    "Log in": "Войти",
    "Helpdesk for hosting and cloud providers": "Служба поддержки для хостинг- и облачных провайдеров",
    "Your lines": "Ваши линии",
    "Line": "Линия",
    "Waiting": "Ожидают",
    "In progress": "В работе",
    "Waiting for the customer": "Ждём ответа клиента",
    "You are not a member of any line yet; ask a manager to add you.": (
        "Вы пока не входите ни в одну линию; попросите руководителя добавить вас."
    ),
    "Assigned to you": "Назначены вам",
    "Number": "Номер",
    "Subject": "Тема",
    "Status": "Статус",
    "Last activity": "Последняя активность",
    "Nothing is assigned to you.": "Вам ничего не назначено.",
    "Customers": "Клиенты",
    "Agents": "Сотрудники",
    "Lines and departments": "Линии и отделы",
    "Kind": "Вид",
    "No lines are set up yet.": "Линии ещё не настроены.",
    "Support": "Поддержка",
    "Open requests": "Открытые обращения",
    "Waiting for your answer": "Ждут вашего ответа",
    "Awaiting your confirmation": "Ждут вашего подтверждения",
    "Your support plan": "Ваш тариф поддержки",
    "Customer since %(since)s": "Клиент с %(since)s",
    "Recent requests": "Последние обращения",
    "You have not asked us anything yet.": "Вы ещё ни о чём нас не спрашивали.",
    "Forgot your password?": "Забыли пароль?",
    "Password saved": "Пароль сохранён",
    "Change your password": "Смена пароля",
    "Save the password": "Сохранить пароль",
    "Log in with your new password.": "Войдите с новым паролем.",
    "Choose a new password": "Выберите новый пароль",
    "This link no longer works": "Эта ссылка больше не действует",
    "It was used already or it expired.": "Ею уже воспользовались, или срок её действия истёк.",
    "Ask for a new one.": "Запросите новую.",
    "Check your e-mail": "Проверьте почту",
    "If an account uses that address, a link to choose a new password is on its way.": (
        "Если этот адрес принадлежит учётной записи, ссылка для выбора нового пароля уже отправлена."
    ),
    "Someone asked to reset the password of the helpdesk account “%(username)s”.": (
        "Кто-то запросил сброс пароля учётной записи «%(username)s» в службе поддержки."
    ),
    "Choose a new password here:": "Выберите новый пароль здесь:",
    "If it was not you, ignore this message: your password stays as it is.": (
        "Если это были не вы, просто проигнорируйте это письмо: пароль останется прежним."
    ),
    "Reset your password": "Сброс пароля",
    "Enter the e-mail address of your account and we will send you a link to choose a new password.": (
        "Укажите адрес электронной почты вашей учётной записи, и мы пришлём ссылку для выбора нового пароля."
    ),
    "Send the link": "Отправить ссылку",
    "Choose a new password for the helpdesk": "Выберите новый пароль для службы поддержки",
    "Help centre": "Справочный центр",
    "Lines and queues": "Линии и очереди",
    "Support tier": "Уровень поддержки",
    "Department": "Отдел",
    "name in Russian": "название на русском",
    "next line": "следующая линия",
    "position": "позиция",
    "active": "активна",
    "members": "сотрудники",
    "line": "линия",
    "lines": "линии",
    "agent": "сотрудник",
    "team lead": "старший смены",
    "joined at": "в линии с",
    "line membership": "участие в линии",
    "line memberships": "участие в линиях",
    "Tickets": "Обращения",
    "General question": "Общий вопрос",
    "Pre-sale question": "Вопрос до покупки",
    "Billing": "Оплата и документы",
    "Technical, simple": "Технический, простой",
    "Technical, medium": "Технический, средней сложности",
    "Technical, complex": "Технический, сложный",
    "Hardware replacement": "Замена оборудования",
    "Administration work": "Работы по администрированию",
    "Feedback form": "Форма обратной связи",
    "E-mail": "Электронная почта",
    "Phone": "Телефон",
    "API": "API",
    "Normal": "Обычная",
    "High": "Высокая",
    "Critical: service down": "Критическая: сервис не работает",
    "New": "Новое",
    "Waiting for an agent": "Ждёт сотрудника",
    "Resolved": "Решено",
    "Closed": "Закрыто",
    "number": "номер",
    "subject": "тема",
    "Markdown.": "Markdown.",
    "category": "категория",
    "service or server": "услуга или сервер",
    "Which of the customer's services it concerns.": "К какой услуге клиента относится.",
    "channel": "канал",
    "urgency": "срочность",
    "status": "статус",
    "assignee": "исполнитель",
    "customer": "клиент",
    "updated at": "обновлено",
    "last activity": "последняя активность",
    "first response at": "первый ответ",
    "resolved at": "решено",
    "closed at": "закрыто",
    "solved at the first level": "решено на первой линии",
    "ticket": "обращение",
    "tickets": "обращения",
    "Reply": "Ответ",
    "Internal note": "Внутренняя заметка",
    "System message": "Системное сообщение",
    "author": "автор",
    "text": "текст",
    "message": "сообщение",
    "messages": "сообщения",
    "title": "заголовок",
    "Placeholders: {customer_name}, {ticket_number}, {agent_name}.": (
        "Подстановки: {customer_name}, {ticket_number}, {agent_name}."
    ),
    "reply template": "шаблон ответа",
    "reply templates": "шаблоны ответов",
}


def unquote(block: str, keyword: str) -> str | None:
    match = re.search(rf'^{keyword} ((?:".*"\n?)+)', block, re.M)
    if not match:
        return None
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(1))
    return "".join(parts).encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main(path: Path) -> int:
    blocks = path.read_text().split("\n\n")
    missing = []
    out = []
    for block in blocks:
        msgid = unquote(block, "msgid")
        msgstr = unquote(block, "msgstr")
        if msgid and not msgstr and "msgid_plural" not in block:
            if msgid in RU:
                block = re.sub(r'^msgstr (?:".*"\n?)+', f"msgstr {quote(RU[msgid])}", block, flags=re.M).rstrip("\n")
                block = block.replace("#, fuzzy\n", "")
            else:
                missing.append(msgid)
        out.append(block)
    path.write_text("\n\n".join(out))
    for msgid in missing:
        print(f"untranslated: {msgid}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(Path(__file__).resolve().parent / "ru" / "LC_MESSAGES" / "django.po"))
