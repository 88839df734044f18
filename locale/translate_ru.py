"""Fill Russian translations into locale/ru/LC_MESSAGES/django.po from the table below.

Run after `make messages` adds new strings; entries already translated are kept.
"""

import re
import sys
from pathlib import Path

RU = {
    "The change as “old → new”, values by their labels in the request's language; empty when none.": (
        "Изменение в виде «было → стало», значения — названиями на языке запроса; пусто, если его нет."
    ),
    "The reason in the request's language (the helpdesk's own) or as the agent typed it.": (
        "Причина на языке запроса (если её указала сама служба поддержки) или как её ввёл сотрудник."
    ),
    "the customer replied": "клиент ответил",
    "released": "возвращён в очередь",
    "the customer called": "клиент позвонил",
    "transferred to another line": "передан в другую линию",
    "confirmed by the customer": "подтверждено клиентом",
    "reopened by the customer": "клиент открыл запрос снова",
    "the ticket was closed": "запрос закрыт",
    "the extra charge was accepted": "клиент согласился на доплату",
    "no answer from the customer": "клиент не ответил",
    "the solution was not confirmed in time": "клиент не подтвердил решение вовремя",
    "Thank you; the engineers can start.": "Спасибо! Инженеры могут приступать к работе.",
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
    # Routing and the weighted queue
    "Empty: any urgency.": "Пусто — любая срочность.",
    "routing rule": "правило распределения",
    "routing rules": "правила распределения",
    "starvation bound (minutes)": "предел обгона (минут)",
    "No ticket is ever overtaken by one queued more than this many minutes after it.": (
        "Обращение никогда не обгонит другое, вставшее в очередь раньше него более чем на столько минут."
    ),
    "minutes per year as a customer": "минут за каждый год сотрудничества",
    "tenure counted up to (years)": "стаж учитывается до (лет)",
    "minutes per tenfold 12-month spend": "минут за каждое десятикратное увеличение оплат за 12 месяцев",
    "Counted from 1,000 of the currency.": "Отсчёт ведётся от 1 000 единиц валюты.",
    "Customers who ask less than others on their plan move up; those who ask more move down.": (
        "Клиенты, которые обращаются реже других на том же тарифе, поднимаются в очереди, а те, кто обращается чаще, — опускаются."
    ),
    "VIP bonus (minutes)": "бонус VIP (минут)",
    "problematic penalty (minutes)": "штраф для проблемных клиентов (минут)",
    "minutes per support level": "минут за каждый уровень поддержки",
    "high urgency (minutes)": "высокая срочность (минут)",
    "critical urgency (minutes)": "критическая срочность (минут)",
    "queue policy": "правила очереди",
    "Queue policy": "Правила очереди",
    # Paid moves up the queue and the balance
    "To the front": "В начало очереди",
    "Right behind the first": "Сразу за первым",
    "price": "цена",
    "boost price": "цена продвижения",
    "boost prices": "цены продвижения",
    "Credit": "Пополнение",
    "Charge": "Списание",
    "amount": "сумма",
    "reference": "номер операции",
    "balance entry": "операция по балансу",
    "balance entries": "операции по балансу",
    "head start bought (minutes)": "купленная фора (минут)",
    "idempotency key": "ключ идемпотентности",
    "charge": "списание",
    "bought at": "куплено",
    "boost": "продвижение в очереди",
    "boosts": "продвижения в очереди",
    "Only support staff take tickets.": "Брать обращения в работу могут только сотрудники поддержки.",
    "You are not a member of the line “%(line)s”.": "Вы не входите в линию «%(line)s».",
    "You are not a member of any line.": "Вы не входите ни в одну линию.",
    "This boost is not offered.": "Такое продвижение недоступно.",
    "Unknown kind of boost.": "Неизвестный вид продвижения.",
    "No such ticket.": "Обращение не найдено.",
    "Only a ticket waiting in the queue can be moved up.": (
        "Продвинуть можно только обращение, которое ждёт в очереди."
    ),
    "A boost needs an idempotency key of 1 to 100 characters.": (
        "Для продвижения нужен ключ идемпотентности длиной от 1 до 100 символов."
    ),
    "This idempotency key was used for another purchase.": (
        "Этот ключ идемпотентности уже использован для другой покупки."
    ),
    "Your ticket is already there; nothing to pay for.": "Ваше обращение уже на этом месте — платить не за что.",
    "Your balance is %(balance)s %(currency)s; this boost costs %(price)s %(currency)s.": (
        "На вашем балансе %(balance)s %(currency)s, а это продвижение стоит %(price)s %(currency)s."
    ),
    "A credit must be positive.": "Сумма пополнения должна быть больше нуля.",
    # API descriptions
    "Machine-readable code, e.g. `illegal_transition`.": "Машиночитаемый код, например `illegal_transition`.",
    "Message for people, in the caller's language.": "Сообщение для человека на языке того, кто отправил запрос.",
    "The input field the error is about, if any.": "Поле ввода, к которому относится ошибка, если такое есть.",
    "Download through the API (checks access).": "Скачивание через API (с проверкой доступа).",
    "Display name; null for system messages.": "Отображаемое имя; null для системных сообщений.",
    "Markdown as written.": "Markdown в исходном виде.",
    "The body rendered and sanitised.": "Текст, преобразованный в HTML и очищенный.",
    "Code of the line.": "Код линии.",
    "Time in the line; up to now while it is still there.": (
        "Время в линии; если обращение всё ещё там — по текущий момент."
    ),
    "Display name of the agent, or null.": "Отображаемое имя сотрудника или null.",
    "Username of the customer; present only for support staff.": (
        "Имя пользователя клиента; передаётся только сотрудникам поддержки."
    ),
    "The description rendered and sanitised.": "Описание, преобразованное в HTML и очищенное.",
    "Files attached to the ticket itself.": "Файлы, приложенные к самому обращению.",
    "Display name; null for the system.": "Отображаемое имя; null для системы.",
    "Details of the change; the keys depend on the kind.": "Подробности изменения; набор ключей зависит от вида события.",
    "With placeholders.": "С подстановками.",
    "Placeholders filled in for this ticket and agent.": "С подстановками, заполненными для этого обращения и сотрудника.",
    "Code of a line.": "Код линии.",
    "`me`: mine; `none`: unassigned.": "`me` — мои; `none` — без исполнителя.",
    "A ticket number (`123456` or `#123456`) or words of the subject.": (
        "Номер обращения (`123456` или `#123456`) или слова из темы."
    ),
    "The same as `q`.": "То же, что `q`.",
    "Only tickets not yet resolved.": "Только ещё не решённые обращения.",
    "Files (multipart/form-data only); checked by their content.": (
        "Файлы (только multipart/form-data); тип определяется по содержимому."
    ),
    "Server access data; stored encrypted, never returned by the ticket.": (
        "Данные для доступа к серверу; хранятся в зашифрованном виде и никогда не возвращаются вместе с обращением."
    ),
    "Staff only: username of the customer the ticket is filed for.": (
        "Только для сотрудников: имя пользователя клиента, от имени которого создаётся обращение."
    ),
    "Staff only: where the request came from. Customers' tickets always come from the API.": (
        "Только для сотрудников: откуда пришло обращение. Обращения клиентов всегда приходят через API."
    ),
    "No user with this username.": "Пользователя с таким именем нет.",
    "`note` is internal (staff only).": "`note` — внутренняя заметка (видна только сотрудникам).",
    "Staff: after this reply the ticket waits for the customer.": (
        "Для сотрудников: после этого ответа обращение ждёт ответа клиента."
    ),
    "Code of the line to pass the ticket to.": "Код линии, в которую передаётся обращение.",
    "Give the time with its time zone, e.g. 2030-01-31T18:00:00+03:00.": (
        "Укажите время с часовым поясом, например 2030-01-31T18:00:00+03:00."
    ),
    "ISO 8601 with the time zone.": "ISO 8601 с часовым поясом.",
    "Needed when changing.": "Обязательна при изменении.",
    "What is still wrong.": "Что всё ещё не так.",
    "Only templates in this language.": "Только шаблоны на этом языке.",
    "A ticket number: only the lines it can be transferred to.": (
        "Номер обращения: только линии, в которые его можно передать."
    ),
    "Only support staff may file a ticket for a customer.": (
        "Создавать обращения от имени клиента могут только сотрудники поддержки."
    ),
    # Forms
    "Topic": "Категория",
    "Urgency": "Срочность",
    "Service or server": "Услуга или сервер",
    "Describe the problem": "Опишите проблему",
    "Access data (stored encrypted, shown only to the engineers of the ticket, deleted on closing)": (
        "Данные для доступа (хранятся в зашифрованном виде, видны только инженерам, "
        "которые работают с обращением, удаляются при закрытии)"
    ),
    "Files": "Файлы",
    "Message": "Сообщение",
    "Reply to the customer": "Ответ клиенту",
    "Wait for the customer's answer": "Ждать ответа клиента",
    "What is still wrong?": "Что всё ещё не так?",
    "To": "В линию",
    "Reason": "Причина",
    "Expected to be solved by": "Ожидаемый срок решения",
    "Reason (needed when changing)": "Причина (обязательна при изменении срока)",
    "Access data": "Данные для доступа",
    "Search": "Поиск",
    "Any status": "Любой статус",
    # Ticket fields and history
    "expected to be solved by": "ожидаемый срок решения",
    "The agent's promise to the customer.": "Срок, который сотрудник пообещал клиенту.",
    "in this line since": "в линии с",
    "queued at": "в очереди с",
    "head start (minutes)": "фора в очереди (минут)",
    "queue order key": "ключ порядка в очереди",
    "weight, explained": "расчёт веса",
    "Created": "Создано",
    "Status changed": "Статус изменён",
    "Transferred": "Передано в другую линию",
    "Assignee changed": "Исполнитель изменён",
    "Urgency changed": "Срочность изменена",
    "Promise set": "Назначен срок решения",
    "Message added": "Добавлено сообщение",
    "File attached": "Приложен файл",
    "Access data stored": "Данные для доступа сохранены",
    "Access data revealed": "Данные для доступа просмотрены",
    "Access data wiped": "Данные для доступа удалены",
    "Moved up the queue": "Продвинуто в очереди",
    "by": "кто",
    "details": "подробности",
    "at": "когда",
    "ticket event": "событие обращения",
    "ticket events": "события обращений",
    "entered at": "поступило в линию",
    "left at": "ушло из линии",
    "time in a line": "время в линии",
    "time in lines": "время в линиях",
    "file": "файл",
    "file name": "имя файла",
    "type": "тип",
    "size": "размер",
    "uploaded by": "кем загружено",
    "uploaded at": "загружено",
    "attachment": "вложение",
    "attachments": "вложения",
    "encrypted access data": "зашифрованные данные для доступа",
    "stored by": "кем сохранено",
    "stored at": "сохранено",
    "access data": "данные для доступа",
    # Ticket rules
    "No such file.": "Файл не найден.",
    "A ticket that is “%(old)s” cannot become “%(new)s”.": (
        "Обращение в статусе «%(old)s» нельзя перевести в статус «%(new)s»."
    ),
    "Only staff of the line “%(line)s” may do this.": "Это могут делать только сотрудники линии «%(line)s».",
    "Only the customer can do this.": "Это может сделать только клиент.",
    "%(label)s must not be empty.": "Поле «%(label)s» не может быть пустым.",
    "%(label)s is too long (%(length)d characters, at most %(max)d).": (
        "Поле «%(label)s» слишком длинное: символов — %(length)d, допустимо не более %(max)d."
    ),
    "No support line is set up to receive tickets.": "Не настроено ни одной линии поддержки для приёма обращений.",
    "Tickets are filed for customers.": "Обращения создаются только от имени клиентов.",
    "Unknown category “%(value)s”.": "Неизвестная категория «%(value)s».",
    "Unknown urgency “%(value)s”.": "Неизвестная срочность «%(value)s».",
    "Unknown channel “%(value)s”.": "Неизвестный канал «%(value)s».",
    "The subject": "Тема",
    "The description": "Описание",
    "The message": "Сообщение",
    "The reason": "Причина",
    "Customers can only write replies.": "Клиенты могут писать только ответы.",
    "This ticket is closed; reopen it to write again.": (
        "Это обращение закрыто; чтобы написать снова, откройте его заново."
    ),
    "Unknown kind of message.": "Неизвестный вид сообщения.",
    "This ticket is closed; it cannot be answered.": "Это обращение закрыто, ответить на него нельзя.",
    "You already have this ticket.": "Это обращение уже у вас.",
    "%(name)s is working on this ticket; they can release it.": (
        "Этим обращением уже занимается %(name)s; вернуть его в очередь может этот сотрудник."
    ),
    "A ticket that is “%(status)s” cannot be taken.": "Обращение в статусе «%(status)s» нельзя взять в работу.",
    "Nobody has this ticket.": "Этим обращением никто не занимается.",
    "Only the agent who has the ticket, or a manager, can release it.": (
        "Вернуть обращение в очередь может только сотрудник, который им занимается, или руководитель."
    ),
    "A ticket that is “%(status)s” cannot be transferred.": (
        "Обращение в статусе «%(status)s» нельзя передать в другую линию."
    ),
    "The ticket is already in this line.": "Обращение уже находится в этой линии.",
    "That line is not active.": "Эта линия неактивна.",
    "Passed from “%(old)s” to “%(new)s”.": "Передано из линии «%(old)s» в линию «%(new)s».",
    "A ticket that is “%(status)s” keeps its urgency.": (
        "У обращения в статусе «%(status)s» срочность изменить нельзя."
    ),
    "The ticket already has this urgency.": "У обращения уже такая срочность.",
    "A solved ticket needs no promise.": "Для решённого обращения срок решения не назначают.",
    "Give the time with its time zone.": "Укажите время с часовым поясом.",
    "The promised time must be in the future.": "Обещанный срок должен быть в будущем.",
    "Say why the promised time changes; the customer sees it.": (
        "Укажите, почему меняется срок: клиент увидит это объяснение."
    ),
    "Only a resolved or closed ticket can be reopened.": (
        "Открыть заново можно только решённое или закрытое обращение."
    ),
    "Access data is limited to 10,000 characters.": "Данные для доступа не должны превышать 10 000 символов.",
    "A closed ticket keeps no access data.": "В закрытом обращении данные для доступа не хранятся.",
    "Access data must not be empty.": "Данные для доступа не могут быть пустыми.",
    "Access data is shown only to the staff working on the ticket.": (
        "Данные для доступа видны только сотрудникам, которые работают с обращением."
    ),
    "Access data is shown only to the staff of the ticket's current line.": (
        "Данные для доступа видны только сотрудникам линии, в которой сейчас находится обращение."
    ),
    "This ticket has no access data.": "К этому обращению не приложены данные для доступа.",
    "Only staff of the line may use its templates.": "Шаблонами линии могут пользоваться только её сотрудники.",
    "This template belongs to another line.": "Этот шаблон относится к другой линии.",
    # Ticket pages
    "Pages": "Страницы",
    "Newer": "Более новые",
    "Page %(n)s of %(total)s": "Страница %(n)s из %(total)s",
    "Older": "Более ранние",
    "Revealed to you; this is recorded in the ticket's history.": (
        "Данные показаны вам; это записано в истории обращения."
    ),
    "System": "Система",
    "Former user": "Бывший пользователь",
    "Channel": "Канал",
    "Assignee": "Исполнитель",
    "Promised by": "Обещанный срок",
    "Answer": "Ответить",
    "Template": "Шаблон",
    "Send": "Отправить",
    "Take": "Взять в работу",
    "Release to the line": "Вернуть в очередь линии",
    "Mark solved": "Отметить как решённое",
    "Transfer": "Передать",
    "Expected time": "Срок решения",
    "Tell the customer": "Сообщить клиенту",
    "Change": "Изменить",
    "Reveal (recorded)": "Показать (это будет записано)",
    "Only the staff of the ticket's line can see it.": "Их видят только сотрудники линии, в которой находится обращение.",
    "Time in lines": "Время в линиях",
    "now": "сейчас",
    "History": "История",
    "File for a customer": "Обращение от имени клиента",
    "All my lines": "Все мои линии",
    "Me": "Я",
    "Nobody": "Не назначен",
    "Open only": "Только открытые",
    "Filter": "Применить",
    "No tickets match.": "Подходящих обращений нет.",
    "File a ticket for a customer": "Новое обращение от имени клиента",
    "Customer login": "Логин клиента",
    "File the ticket": "Создать обращение",
    "My requests": "Мои обращения",
    "New request": "Новое обращение",
    "All requests": "Все обращения",
    "We expect to have this solved by %(when)s.": "Мы рассчитываем решить вопрос к %(when)s.",
    "Access data is stored encrypted and will be deleted when the ticket closes.": (
        "Данные для доступа хранятся в зашифрованном виде и будут удалены после закрытия обращения."
    ),
    "The support team considers the problem solved. Is it?": "Мы считаем, что проблема решена. Так ли это?",
    "Yes, it is solved": "Да, проблема решена",
    "Give access data to the engineers": "Передать инженерам данные для доступа",
    "Stored encrypted, shown only to the engineers working on this ticket, deleted when it closes.": (
        "Хранятся в зашифрованном виде, видны только инженерам, которые работают с этим обращением, "
        "и удаляются после его закрытия."
    ),
    "Store": "Сохранить",
    "Not solved after all?": "Проблема всё-таки не решена?",
    "Reopen": "Открыть заново",
    "Find": "Найти",
    "No requests found.": "Обращения не найдены.",
    "Markdown works in the description. Files: up to 10 MB each, images, PDF, archives or text.": (
        "В описании можно использовать Markdown. Файлы: до 10 МБ каждый — изображения, PDF, архивы или текст."
    ),
    "At most %(count)d files can be attached at once.": ("Максимальное число файлов за один раз: %(count)d."),
    "“%(name)s” is %(size)s MB; the limit is %(limit)s MB.": (
        "Размер файла «%(name)s» — %(size)s МБ, а допустимо не более %(limit)s МБ."
    ),
    "“%(name)s” is not a file type we accept (%(allowed)s).": (
        "Тип файла «%(name)s» не поддерживается (допустимы: %(allowed)s)."
    ),
    "Ticket #%(number)s is filed.": "Обращение #%(number)s создано.",
    "Write a message first.": "Сначала напишите сообщение.",
    "Tell us what is still wrong.": "Расскажите, что всё ещё не так.",
    "No customer with the login “%(name)s”.": "Клиента с логином «%(name)s» нет.",
    "Give a date and time.": "Укажите дату и время.",
    "Choose a line and give a reason.": "Выберите линию и укажите причину.",
    # Confirmations after actions (tickets/views.py success_message)
    "Your message is sent.": "Ваше сообщение отправлено.",
    "Thank you! The ticket is closed.": "Спасибо! Обращение закрыто.",
    "The ticket is open again; the support team will answer.": "Обращение снова открыто; мы скоро ответим.",
    "Access data is stored encrypted.": "Данные для доступа сохранены в зашифрованном виде.",
    "Saved.": "Сохранено.",
    "The ticket is yours.": "Обращение назначено вам.",
    "The ticket is back in its line.": "Обращение возвращено в очередь линии.",
    "The ticket is transferred.": "Обращение передано.",
    "The customer sees the expected time.": "Клиент увидит ожидаемый срок решения.",
    "Urgency changed.": "Срочность изменена.",
    "Marked as solved; the customer is asked to confirm.": "Отмечено как решённое; клиента попросили подтвердить.",
    # Queue pages
    "Take next": "Взять следующее",
    "Queue": "Очередь",
    "You are number %(n)s in the queue of the line “%(line)s”.": "Ваш номер в очереди линии «%(line)s»: %(n)s.",
    "Expected wait: about %(low)s–%(high)s minutes.": "Примерное время ожидания: %(low)s–%(high)s мин.",
    "(the line takes %(pace)s requests an hour, measured over the last %(hours)s h; an estimate, not a promise)": (
        "(линия разбирает обращения в темпе %(pace)s в час по данным за последние %(hours)s ч; "
        "это оценка, а не обещание)"
    ),
    "There is not enough recent data to estimate the wait yet.": (
        "Пока недостаточно свежих данных, чтобы оценить время ожидания."
    ),
    "puts you at number %(after)s now": "ваш номер в очереди сразу станет %(after)s",
    "requests waiting more than %(bound)s minutes longer than yours stay ahead": (
        "обращения, которые ждут дольше вашего больше чем на %(bound)s мин, останутся впереди"
    ),
    "Your balance: %(balance)s %(currency)s.": "Ваш баланс: %(balance)s %(currency)s.",
    "%(name)s is working on your request.": "Вашим обращением занимается %(name)s.",
    "Your request is not waiting in a queue right now.": "Сейчас ваше обращение не стоит в очереди.",
    "Starvation bound: no request is ever overtaken by one that arrived more than %(bound)s minutes after it, "
    "whatever the customers' weight or boosts.": (
        "Предел обгона: обращение никогда не обгонит другое, поступившее раньше него более чем на %(bound)s мин, "
        "независимо от веса клиентов и купленных продвижений."
    ),
    "The weights and the bound are set in the admin (Queue policy); boost prices per plan as well.": (
        "Веса и предел обгона настраиваются в администрировании («Правила очереди»), "
        "там же — цены продвижения по тарифам."
    ),
    "Oldest wait": "Дольше всех ждёт",
    "Problematic": "Проблемные",
    "Enterprise": "Корпоративный",
    "Business": "Бизнес",
    "Standard": "Стандарт",
    "Self-service": "Самообслуживание",
    "Boosts today": "Продвижений сегодня",
    "Done: your ticket moved up; %(price)s was charged to your balance.": (
        "Готово: ваше обращение продвинуто в очереди, с баланса списано %(price)s."
    ),
    "Nobody is waiting in your lines.": "В ваших линиях никто не ждёт.",
    "Place in the queue": "Место в очереди",
    "Number %(n)s in the line.": "Номер в очереди линии: %(n)s.",
    "Head start: %(minutes)s min": "Фора: %(minutes)s мин",
    "no weight": "надбавок нет",
    # Service levels
    "working hours": "рабочее время",
    "Empty: 24/7 in the helpdesk's time zone.": "Пусто — круглосуточно, в часовом поясе службы поддержки.",
    "Escalated: the deadline for the %(target)s passed.": "Эскалация: истёк срок (%(target)s).",
    "No first response within %(minutes)s working minutes.": (
        "Первого ответа не было в течение %(minutes)s мин рабочего времени."
    ),
    "We are waiting for your answer to continue. If the problem is solved, please confirm it.": (
        "Чтобы продолжить, нам нужен ваш ответ. Если проблема решена, пожалуйста, подтвердите это."
    ),
    "Service levels": "Уровни обслуживания",
    "Unknown time zone “%(value)s”.": "Неизвестный часовой пояс «%(value)s».",
    "time zone": "часовой пояс",
    "24/7": "круглосуточно",
    "business calendar": "рабочий календарь",
    "business calendars": "рабочие календари",
    "Monday": "Понедельник",
    "Tuesday": "Вторник",
    "Wednesday": "Среда",
    "Thursday": "Четверг",
    "Friday": "Пятница",
    "Saturday": "Суббота",
    "Sunday": "Воскресенье",
    "weekday": "день недели",
    "from": "от",
    "until": "до",
    "00:00 means midnight at the end of the day.": "00:00 означает полночь в конце дня.",
    "working interval": "рабочий интервал",
    "working intervals": "рабочие интервалы",
    "An interval must end after it starts.": "Интервал должен заканчиваться позже, чем начинается.",
    "date": "дата",
    "holiday": "нерабочий день",
    "holidays": "нерабочие дни",
    "answer within (minutes)": "ответ в течение (минут)",
    "critical problems answered within (minutes)": "ответ по критическим проблемам в течение (минут)",
    "limited-service period": "период ограниченного обслуживания",
    "limited-service periods": "периоды ограниченного обслуживания",
    "The period must end after it starts.": "Период должен заканчиваться позже, чем начинается.",
    "first response within (minutes)": "первый ответ в течение (минут)",
    "next response within (minutes)": "следующий ответ в течение (минут)",
    "resolution within (minutes)": "решение в течение (минут)",
    "SLA target": "норматив SLA",
    "SLA targets": "нормативы SLA",
    "default": "по умолчанию",
    "Raise the ticket in the queue": "Поднять обращение в очереди",
    "Notify the line's lead": "Уведомить старшего смены линии",
    "Transfer to the next level": "Передать на следующую линию",
    "warn at this share of the target": "предупреждать при такой доле срока",
    "0.8 warns when 80% of the time is used.": "0.8 — предупреждение, когда израсходовано 80% времени.",
    "on a breach": "при нарушении срока",
    "queue head start added on a breach (minutes)": "фора в очереди при нарушении срока (минут)",
    "pass an unanswered first-line ticket on after (business minutes)": (
        "передавать неотвеченное обращение с первой линии дальше через (рабочих минут)"
    ),
    "close a resolved ticket after (days)": "закрывать решённое обращение через (дней)",
    "remind a silent customer after (days)": "напоминать молчащему клиенту через (дней)",
    "resolve a silent customer's ticket after (days)": "считать решённым обращение молчащего клиента через (дней)",
    "SLA policy": "Правила SLA",
    "Warning": "Предупреждение",
    "Breach": "Нарушение срока",
    "Escalation": "Эскалация",
    "Reminder": "Напоминание",
    "Resolved for silence": "Решено: клиент не ответил",
    "Closed unconfirmed": "Закрыто без подтверждения",
    "First response": "Первый ответ",
    "Next response": "Следующий ответ",
    "Resolution": "Решение",
    "Inactivity": "Нет активности",
    "target": "норматив",
    "deadline": "срок",
    "recorded at": "записано",
    "SLA record": "запись SLA",
    "SLA records": "записи SLA",
    "first response due": "срок первого ответа (SLA)",
    "next response due": "срок следующего ответа (SLA)",
    "resolution due": "срок решения (SLA)",
    "resolution time left while paused (business minutes)": "остаток времени на решение на паузе (рабочих минут)",
    "commitment": "обязательства SLA",
    "Service level": "Уровень обслуживания",
    "minutes per halving of requests against the plan's average": (
        "минут за каждое двукратное уменьшение числа обращений относительно среднего по тарифу"
    ),
    "%(size)d B": "%(size)d Б",
    "%(size)s KB": "%(size)s КБ",
    "%(size)s MB": "%(size)s МБ",
    "%(size)s GB": "%(size)s ГБ",
    "%(days)d d %(hours)d h": "%(days)d д %(hours)d ч",
    "%(hours)d h %(minutes)d min": "%(hours)d ч %(minutes)d мин",
    "%(minutes)d min": "%(minutes)d мин",
    "years with us": "стаж клиента",
    "spend over 12 months": "оплаты за 12 месяцев",
    "requests compared with the plan's average": "частота обращений относительно среднего по тарифу",
    "support plan level": "уровень тарифа поддержки",
    "paid boost": "платное продвижение",
    "Customer changed": "Сменён клиент",
    "A ticket can only go to an active customer account.": "Обращение можно передать только активной учётной записи клиента.",
    "Reminder to the customer": "Напоминание клиенту",
    "About your ticket #%(number)s “%(subject)s”:": "По вашему обращению #%(number)s «%(subject)s»:",
    "E-mail from %(address)s recognised as this customer's.": "Письма с адреса %(address)s признаны письмами этого клиента.",
    "events waiting to be dispatched": "события, ждущие рассылки",
    "event waiting to be dispatched": "событие, ждущее рассылки",
    "Limited service: we answer within %(time)s.": (
        "Сейчас действует режим ограниченного обслуживания: мы отвечаем в течение %(time)s."
    ),
    "We answer within %(time)s, around the clock.": "Мы отвечаем в течение %(time)s, круглосуточно.",
    "We answer within %(time)s of working time.": "Мы отвечаем в течение %(time)s рабочего времени.",
    "Negative when overdue.": "Отрицательное, если срок уже прошёл.",
    "The promise shown to the customer.": "Обязательство по сроку ответа, которое видит клиент.",
    "Null while paused.": "null, пока отсчёт приостановлен.",
    "Warnings, breaches and escalations recorded.": "Записанные предупреждения, нарушения сроков и эскалации.",
    "The nearest deadline of an open ticket, or null.": "Ближайший срок по открытому обращению или null.",
    "Deadline": "Срок",
    "%(minutes)s working min": "%(minutes)s мин рабочего времени",
    "Answer expected": "Срок ответа",
    "overdue %(time)s": "просрочено на %(time)s",
    "%(time)s left": "осталось %(time)s",
    # Hardware replacement and administration packages
    "Disk": "Диск",
    "Memory": "Оперативная память",
    "Power supply": "Блок питания",
    "Processor or motherboard": "Процессор или материнская плата",
    "Network card": "Сетевая карта",
    "Other": "Другое",
    "component": "компонент",
    "replaced within (hours)": "замена в течение (часов)",
    "hardware replacement window": "срок замены оборудования",
    "hardware replacement windows": "сроки замены оборудования",
    "Administration package: included, extra_pending (accept to start) or extra_accepted.": (
        "Пакет администрирования: included — входит в пакет, extra_pending — сверх пакета "
        "(работа начнётся после согласия на доплату), extra_accepted — доплата согласована."
    ),
    "Hardware replacement requests: which component; it sets the replacement window.": (
        "Для обращений о замене оборудования: какой компонент заменить; от него зависит срок замены."
    ),
    "Component to replace (hardware requests)": "Компонент для замены (при замене оборудования)",
    "component to replace": "компонент для замены",
    "For hardware replacement requests.": "Для обращений о замене оборудования.",
    "administration package task": "задача пакета администрирования",
    "Included in the package": "Входит в пакет",
    "Beyond the package: waiting for the customer to accept the charge": (
        "Сверх пакета: ждём согласия клиента на доплату"
    ),
    "Beyond the package: extra charge accepted": "Сверх пакета: доплата согласована",
    "Unknown component “%(value)s”.": "Неизвестный компонент «%(value)s».",
    "This month's %(count)s tasks of your “%(package)s” package are used. This task costs %(price)s %(currency)s "
    "extra; work starts once you accept the charge on the ticket page.": (
        "Все задачи, включённые в ваш пакет «%(package)s» на этот месяц (%(count)s), уже использованы. "
        "Эта задача оплачивается отдельно — %(price)s %(currency)s; мы приступим к работе, "
        "как только вы согласитесь на доплату на странице обращения."
    ),
    "Work beyond the administration package starts once the customer accepts the extra charge.": (
        "Работа сверх пакета администрирования начнётся, когда клиент согласится на доплату."
    ),
    "There is no extra charge to accept on this ticket.": "По этому обращению нет доплаты, которую нужно подтвердить.",
    "The package no longer prices extra tasks; ask support.": (
        "Для вашего пакета дополнительные задачи больше не предусмотрены; пожалуйста, обратитесь в поддержку."
    ),
    "This administration task is beyond this month's package; see the price in the message below.": (
        "Эта задача по администрированию выходит за рамки пакета на этот месяц; стоимость указана в сообщении ниже."
    ),
    "Accept the extra charge": "Согласиться на доплату",
    # Contact form without an account
    "Give a valid e-mail address.": "Укажите корректный адрес электронной почты.",
    "Before buying": "До покупки",
    "Payments and documents": "Оплата и документы",
    "Technical problem": "Техническая проблема",
    "Your name": "Ваше имя",
    "The form could not be accepted.": "Не удалось принять форму.",
    "The form expired; please send it again.": "Срок действия формы истёк; пожалуйста, отправьте её ещё раз.",
    "That was too fast; please send the form again.": (
        "Форма отправлена слишком быстро; пожалуйста, отправьте её ещё раз."
    ),
    "Too many requests from you; please try again in an hour.": (
        "От вас поступило слишком много запросов; пожалуйста, попробуйте снова через час."
    ),
    "This link has expired; write to us again or sign in.": (
        "Срок действия ссылки истёк; напишите нам снова или войдите в панель управления."
    ),
    "This link is not valid.": "Ссылка недействительна.",
    "Write to support": "Написать в поддержку",
    "No account needed. If you are our customer, use the e-mail of your account and we will find it.": (
        "Учётная запись не нужна. Если вы наш клиент, укажите адрес электронной почты вашей учётной записи — "
        "мы её найдём."
    ),
    "Thank you": "Спасибо",
    "Request #%(number)s is received": "Обращение #%(number)s принято",
    "Follow it and answer us here (the link is also in your e-mail):": (
        "Следить за обращением и отвечать нам можно здесь (ссылка есть и в письме):"
    ),
    "We have your request #%(number)s “%(subject)s”.": "Мы получили ваше обращение #%(number)s «%(subject)s».",
    "Follow it and answer us here:": "Следить за обращением и отвечать нам можно здесь:",
    "[#%(number)s] Your request is received": "[#%(number)s] Ваше обращение получено",
    # Inbound e-mail
    "Inbound e-mail": "Входящая почта",
    "address": "адрес",
    "Mail to this address (and to its +tags) lands here.": (
        "Сюда попадает почта, отправленная на этот адрес (и на его варианты с +метками)."
    ),
    "The line new tickets from this address go to. Empty: the routing rules of the category decide. "
    "Choose a category that routes to this line, or the new ticket is passed on to it right away.": (
        "Линия, в которую попадают новые обращения с этого адреса. Пусто — линию выбирают правила распределения "
        "по категории. Выберите категорию, которая распределяется в эту линию, иначе новое обращение будет сразу "
        "передано в неё."
    ),
    "category of new tickets": "категория новых обращений",
    "Inactive mailboxes are not polled; mail delivered to them is kept.": (
        "Неактивные ящики не опрашиваются; доставленная в них почта сохраняется."
    ),
    "IMAP host": "сервер IMAP",
    "Empty: not polled.": "Пусто — ящик не опрашивается.",
    "IMAP port": "порт IMAP",
    "IMAP user": "пользователь IMAP",
    "IMAP password (encrypted)": "пароль IMAP (зашифрован)",
    "IMAP folder": "папка IMAP",
    "IMAP over TLS": "IMAP через TLS",
    "last polled at": "последний опрос",
    "last polling error": "последняя ошибка опроса",
    "mailbox": "почтовый ящик",
    "mailboxes": "почтовые ящики",
    "Received, not processed yet": "Получено, ещё не обработано",
    "Ticket created": "Создано обращение",
    "Added to its ticket": "Добавлено в обращение",
    "Ticket created, sender not matched": "Создано обращение, отправитель не опознан",
    "Ignored: automatic reply": "Пропущено: автоответ",
    "Ignored: bounce": "Пропущено: уведомление о недоставке",
    "Ignored: our own mail": "Пропущено: наше собственное письмо",
    "Kept, not filed: too large": "Сохранено, но не обработано: слишком большое",
    "Kept, not filed: could not be read": "Сохранено, но не обработано: не удалось прочитать",
    "Kept, not filed: could not be filed": "Сохранено, но не обработано: не удалось оформить",
    "Duplicate delivery": "Повторная доставка",
    "Inbound endpoint": "HTTP-приёмник",
    "Management command": "Команда управления",
    "IMAP polling": "Опрос IMAP",
    "received through": "получено через",
    "raw message": "исходное письмо",
    "raw message file": "файл исходного письма",
    "Message-ID": "Message-ID",
    "In-Reply-To": "In-Reply-To",
    "References": "References",
    "sender's name": "имя отправителя",
    "recipients": "получатели",
    "received at": "получено",
    "processed at": "обработано",
    "outcome": "результат",
    "filed as": "оформлено от имени",
    "sender matched": "отправитель опознан",
    "The sender's address belongs to a customer account.": "Адрес отправителя принадлежит учётной записи клиента.",
    "duplicate of": "дубликат письма",
    "files kept": "файлов сохранено",
    "files not accepted": "файлов отклонено",
    "linked to customer": "привязано к клиенту",
    "linked by": "кем привязано",
    "linked at": "когда привязано",
    "inbound message": "входящее письмо",
    "inbound messages": "входящие письма",
    "IMAP password": "пароль IMAP",
    "Stored encrypted. Leave empty to keep the current one.": (
        "Хранится в зашифрованном виде. Оставьте поле пустым, чтобы сохранить текущий пароль."
    ),
    "Remove the stored IMAP password": "Удалить сохранённый пароль IMAP",
    "IMAP polling (optional)": "Опрос IMAP (необязательно)",
    "polled over IMAP": "опрашивается по IMAP",
    "password stored": "пароль сохранён",
    "Download .eml": "Скачать .eml",
    "Process again (messages that could not be filed)": "Обработать повторно (письма, которые не удалось оформить)",
    "%(count)d message(s) processed again.": "Повторно обработано писем: %(count)d.",
    "Inbound e-mail is not configured: set HELPDESK_INBOUND_TOKEN.": (
        "Приём входящей почты не настроен: задайте HELPDESK_INBOUND_TOKEN."
    ),
    "Send the token as “Authorization: Bearer <token>”.": "Передайте токен в заголовке «Authorization: Bearer <token>».",
    "Wrong inbound token.": "Неверный токен входящей почты.",
    "This endpoint needs the inbound token (Authorization: Bearer <token>).": (
        "Для этого адреса API нужен токен входящей почты (Authorization: Bearer <token>)."
    ),
    "What became of the message.": "Что стало с письмом.",
    "Why, for people.": "Пояснение для человека.",
    "Number of the ticket it opened or answered.": "Номер обращения, которое письмо открыло или дополнило.",
    "Id of the message it added to the ticket.": "Id сообщения, которое письмо добавило в обращение.",
    "The raw message is kept.": "Исходное письмо сохранено.",
    "The customer's username or e-mail address.": "Имя пользователя или адрес электронной почты клиента.",
    "No mailbox has the address %(address)s.": "Нет почтового ящика с адресом %(address)s.",
    "The body must be the raw e-mail.": "Тело запроса должно содержать исходное письмо целиком.",
    "No such e-mail.": "Письмо не найдено.",
    "No active customer “%(name)s”.": "Нет активного клиента «%(name)s».",
    "message on the ticket": "сообщение в обращении",
    "The message is %(size)s MB; messages over %(limit)s MB are kept here but not filed.": (
        "Размер письма — %(size)s МБ; письма больше %(limit)s МБ сохраняются здесь, но не оформляются в обращения."
    ),
    "Already received as inbound message %(id)s (%(outcome)s).": (
        "Уже получено как входящее письмо %(id)s (%(outcome)s)."
    ),
    "Processing failed: %(error)s": "Ошибка обработки: %(error)s",
    "Not readable as an e-mail: %(error)s.": "Не удалось прочитать как письмо: %(error)s.",
    "The ticket could not be filed: %(error)s": "Не удалось оформить обращение: %(error)s",
    "sender linked to %(user)s": "отправитель привязан к учётной записи %(user)s",
    "the sender's account is deactivated": "учётная запись отправителя отключена",
    "the sender's address is a staff account's": "адрес отправителя принадлежит учётной записи сотрудника",
    "the address %(address)s": "адрес %(address)s",
    "the reference to <%(id)s>": "ссылка на <%(id)s>",
    "the ticket number in the subject": "номер обращения в теме",
    "the sender is not the customer of ticket #%(number)s": "отправитель не является клиентом обращения #%(number)s",
    "ticket #%(number)s is closed; a new ticket was opened": "обращение #%(number)s закрыто; открыто новое обращение",
    "at most %(count)d files per message": "превышен лимит файлов в одном письме (%(count)d)",
    "Not accepted: %(name)s (%(reason)s)": "Файл не принят: %(name)s (%(reason)s)",
    "larger than %(limit)s": "больше %(limit)s",
    "file type not accepted": "тип файла не поддерживается",
    "(The e-mail had no text.)": "(В письме не было текста.)",
    "[The text is cut here; the whole e-mail is kept as it was received.]": (
        "[Текст обрезан; письмо целиком сохранено в том виде, в каком было получено.]"
    ),
    "(no subject)": "(без темы)",
    "Added to ticket #%(number)s by %(how)s.": "Добавлено в обращение #%(number)s; признак: %(how)s.",
    "Follow-up to ticket #%(number)s.": "Продолжение обращения #%(number)s.",
    "Sent to %(address)s": "Отправлено на %(address)s",
    "Ticket #%(number)s created.": "Создано обращение #%(number)s.",
    "The sender %(address)s has no customer account; an agent can link it.": (
        "У отправителя %(address)s нет учётной записи клиента; сотрудник может привязать его к учётной записи."
    ),
    "Only messages that could not be filed are processed again.": (
        "Повторно обрабатываются только письма, которые не удалось оформить."
    ),
    "This e-mail did not open or answer a ticket.": "Это письмо не открыло обращение и не дополнило его.",
    "This sender is already matched to a customer.": "Этот отправитель уже сопоставлен с клиентом.",
    "Link the sender to an active customer account.": "Привяжите отправителя к активной учётной записи клиента.",
    # Notifications
    "Send the selected failed e-mails again": "Повторно отправить выбранные неотправленные письма",
    "E-mails queued again: %(count)d.": "Снова поставлено в очередь на отправку писем: %(count)d.",
    "Notifications": "Уведомления",
    "Status change": "Изменение статуса",
    "Promised solution time": "Обещанный срок решения",
    "New ticket in the line": "Новое обращение в линии",
    "Ticket transferred to the line": "Обращение передано в линию",
    "Ticket handed to the agent": "Обращение передано сотруднику",
    "Queued": "В очереди на отправку",
    "Sent": "Отправлено",
    "Failed": "Ошибка отправки",
    "recipient": "получатель",
    "e-mail address": "адрес электронной почты",
    "event": "событие",
    "attempts": "попытки",
    "last error": "последняя ошибка",
    "sent at": "отправлено",
    "notification": "уведомление",
    "notifications": "уведомления",
    "a new ticket arrives in my line": "в мою линию поступает новое обращение",
    "a ticket is handed to me": "мне передают обращение",
    "a ticket is transferred to my line": "обращение передают в мою линию",
    "agent notification preference": "настройки уведомлений сотрудника",
    "agent notification preferences": "настройки уведомлений сотрудников",
    "Only support staff have notification preferences.": "Настройки уведомлений есть только у сотрудников поддержки.",
    "New reply": "Новый ответ",
    "Expected solution time": "Ожидаемый срок решения",
    "New ticket": "Новое обращение",
    "Transferred to your line": "Передано в вашу линию",
    "Handed to you": "Передано вам",
    "E-mail notifications": "Уведомления по электронной почте",
    "E-mails go to %(email)s. Send me one when:": "Письма приходят на %(email)s. Присылать письмо, когда:",
    "Save": "Сохранить",
    "Recent e-mails to you": "Последние письма вам",
    "Ticket": "Обращение",
    "No e-mails yet.": "Писем пока не было.",
    "A new ticket #%(number)s has arrived in the line “%(line)s”.": (
        "В линию «%(line)s» поступило новое обращение #%(number)s."
    ),
    "Ticket #%(number)s was transferred from “%(from)s” to your line “%(line)s”.": (
        "Обращение #%(number)s передано из линии «%(from)s» в вашу линию «%(line)s»."
    ),
    "%(name)s handed ticket #%(number)s to you.": "Сотрудник %(name)s передал вам обращение #%(number)s.",
    "Ticket #%(number)s was handed to you.": "Вам передано обращение #%(number)s.",
    "Reason:": "Причина:",
    "Category": "Категория",
    "Service": "Услуга",
    "Hello, %(name)s!": "Здравствуйте, %(name)s!",
    "Hello!": "Здравствуйте!",
    "Open the ticket": "Открыть обращение",
    "To add to the ticket, reply to this e-mail.": "Чтобы дополнить обращение, просто ответьте на это письмо.",
    "We expect to have ticket #%(number)s “%(subject)s” solved by %(when)s.": (
        "Мы рассчитываем решить вопрос по обращению #%(number)s «%(subject)s» к %(when)s."
    ),
    "Until now the expected time was %(previous)s.": "Прежний ожидаемый срок: %(previous)s.",
    "%(name)s replied to your ticket #%(number)s “%(subject)s”:": (
        "Новый ответ по вашему обращению #%(number)s «%(subject)s». Пишет %(name)s:"
    ),
    "An agent is working on your ticket #%(number)s “%(subject)s”.": (
        "Специалист поддержки уже работает над вашим обращением #%(number)s «%(subject)s»."
    ),
    "Your ticket #%(number)s “%(subject)s” is waiting for an agent.": (
        "Ваше обращение #%(number)s «%(subject)s» ожидает ответа специалиста поддержки."
    ),
    "We are waiting for your answer on ticket #%(number)s “%(subject)s”.": (
        "Мы ждём вашего ответа по обращению #%(number)s «%(subject)s»."
    ),
    "We have not heard from you, so ticket #%(number)s “%(subject)s” is now marked as resolved.": (
        "Мы не получили от вас ответа, поэтому обращение #%(number)s «%(subject)s» отмечено как решённое."
    ),
    "Ticket #%(number)s “%(subject)s” is marked as resolved.": (
        "Обращение #%(number)s «%(subject)s» отмечено как решённое."
    ),
    "If the problem is solved, please confirm it in the control panel; if not, reopen the ticket there.": (
        "Если проблема решена, пожалуйста, подтвердите это в панели управления; если нет — откройте обращение "
        "там заново."
    ),
    "Thank you for confirming the solution: ticket #%(number)s “%(subject)s” is closed.": (
        "Спасибо, что подтвердили решение: обращение #%(number)s «%(subject)s» закрыто."
    ),
    "Ticket #%(number)s “%(subject)s” is closed: the solution was not confirmed in time.": (
        "Обращение #%(number)s «%(subject)s» закрыто: решение не было подтверждено вовремя."
    ),
    "Ticket #%(number)s “%(subject)s” is closed.": "Обращение #%(number)s «%(subject)s» закрыто.",
    "Any server access data stored with the ticket has been deleted.": (
        "Все данные для доступа к серверу, сохранённые в обращении, удалены."
    ),
    "The status of ticket #%(number)s “%(subject)s” is now “%(status)s”.": (
        "Статус обращения #%(number)s «%(subject)s» изменён на «%(status)s»."
    ),
    "Your notification settings are saved.": "Настройки уведомлений сохранены.",
    # Phone calls
    "Username of the customer who called.": "Имя пользователя клиента, который звонил.",
    "Existing ticket number; empty: a new ticket.": "Номер существующего обращения; пусто — новое обращение.",
    "No such customer.": "Клиент не найден.",
    "Existing ticket number (empty: a new ticket)": "Номер существующего обращения (пусто — новое обращение)",
    "Duration, minutes": "Длительность, мин",
    "Subject (new ticket)": "Тема (для нового обращения)",
    "What the customer said": "Что сказал клиент",
    "Phone call logged": "Записан телефонный звонок",
    "duration": "длительность",
    "logged at": "записан",
    "phone call": "телефонный звонок",
    "phone calls": "телефонные звонки",
    "Only support staff log calls.": "Записывать звонки могут только сотрудники поддержки.",
    "Calls are logged for customers.": "Звонки записываются только для клиентов.",
    "A call lasts between a second and eight hours.": "Длительность звонка — от одной секунды до восьми часов.",
    "The summary": "Содержание звонка",
    "That ticket belongs to another customer.": "Это обращение принадлежит другому клиенту.",
    "This ticket is closed; log the call as a new ticket.": "Это обращение закрыто; запишите звонок как новое обращение.",
    "Page %(n)s of %(total)s+": "Страница %(n)s из %(total)s+",
    "Log a call": "Записать звонок",
    "Log a phone call": "Запись телефонного звонка",
    "Access data is never taken by phone: ask the customer to add it on the ticket page.": (
        "Данные для доступа по телефону не принимаются: попросите клиента добавить их на странице обращения."
    ),
    "Log the call": "Записать звонок",
    "The call is logged.": "Звонок записан.",
}


# Plural entries: the singular msgid -> the four Russian forms of Django's Plural-Forms
# (1, 21 минута; 2-4 минуты; 5-20, 0 минут; fractions минуты).
RU_PLURAL = {
    "%(n)d minute": ("%(n)d минута", "%(n)d минуты", "%(n)d минут", "%(n)d минуты"),
    "%(n)d hour": ("%(n)d час", "%(n)d часа", "%(n)d часов", "%(n)d часа"),
}

# xgettext flags these python-format because of a bare "%" ("80% of" reads as "% o"), so msgfmt
# rejects any Russian wording; Django never %-formats them. Re-flagged on every run, since
# makemessages puts the flag back.
NOT_PYTHON_FORMAT = {"0.8 warns when 80% of the time is used."}


def unquote(block: str, keyword: str) -> str | None:
    match = re.search(rf'^{keyword} ((?:".*"\n?)+)', block, re.M)
    if not match:
        return None
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(1))
    return "".join(parts).encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def unfuzzy(block: str) -> str:
    """Drop the fuzzy flag (keeping others such as python-format) and the previous-msgid lines."""
    lines = []
    for line in block.split("\n"):
        if line.startswith("#| "):
            continue
        if line.startswith("#, "):
            flags = [flag.strip() for flag in line[3:].split(",") if flag.strip() != "fuzzy"]
            if not flags:
                continue
            line = "#, " + ", ".join(flags)
        lines.append(line)
    return "\n".join(lines)


def is_fuzzy(block: str) -> bool:
    return any(line.startswith("#, ") and "fuzzy" in line for line in block.split("\n"))


def main(path: Path) -> int:
    blocks = path.read_text().split("\n\n")
    missing = []
    out = []
    for block in blocks:
        msgid = unquote(block, "msgid")
        plural = re.search(r"^msgid_plural ", block, re.M) is not None
        msgstr = unquote(block, r"msgstr\[0\]") if plural else unquote(block, "msgstr")
        if msgid in NOT_PYTHON_FORMAT:
            block = re.sub(r"^(#,(?:.*[ ,])?)python-format\b", r"\1no-python-format", block, flags=re.M)
        # makemessages marks near-matches fuzzy with another string's translation: redo them too.
        if msgid and (not msgstr or is_fuzzy(block)):
            if plural and msgid in RU_PLURAL:
                block = re.sub(r'^msgstr\[\d\] (?:".*"\n?)+', "", block, flags=re.M).rstrip("\n")
                forms = "\n".join(f"msgstr[{n}] {quote(form)}" for n, form in enumerate(RU_PLURAL[msgid]))
                block = unfuzzy(block + "\n" + forms)
            elif plural:
                missing.append(f"{msgid} (plural forms: add it to RU_PLURAL)")
            elif msgid in RU:
                block = re.sub(r'^msgstr (?:".*"\n?)+', f"msgstr {quote(RU[msgid])}", block, flags=re.M).rstrip("\n")
                block = unfuzzy(block)
            else:
                missing.append(msgid)
        out.append(block)
    path.write_text("\n\n".join(out).rstrip("\n") + "\n")
    for msgid in missing:
        print(f"untranslated: {msgid}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(Path(__file__).resolve().parent / "ru" / "LC_MESSAGES" / "django.po"))
