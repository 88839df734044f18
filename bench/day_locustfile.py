"""A working day at a hosting provider's helpdesk, as locust users: `python -m bench day` runs it.

Reads the plan that `bench/day.py` writes (the file named by `DAY_PLAN`): signed-in sessions
and API tokens of generated `bench-...` users, ticket numbers, help-centre addresses. Every
request is named after what the user does; an answer other than the one expected (a redirect
to the login page, a form shown again with errors, a 4xx or 5xx) counts as a failure.

By hand, against a running deployment:

    DAY_PLAN=plan.json PYTHONPATH=. locust -f bench/day_locustfile.py --headless -u 20 -r 5 -t 60s \\
        --host http://127.0.0.1:8080
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import uuid
from http.cookiejar import Cookie
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, between, task
from locust.contrib.fasthttp import FastHttpSession

from bench.day_mix import TASK_WEIGHTS, THINK_SECONDS, USER_WEIGHTS

PLAN = json.loads(Path(os.environ["DAY_PLAN"]).read_text()) if os.environ.get("DAY_PLAN") else {}
_next = {kind: itertools.count() for kind in ("customers", "chatters", "agents", "managers")}
TICKET_IN_LOCATION = re.compile(r"/tickets/(\d+)/$")
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
SUBJECTS = (
    "VPS vps-{n}.example.net does not answer",
    "Invoice for hosting account h{n}",
    "SSL certificate for site-{n}",
)


def weights(kind: str) -> dict[str, int]:
    return TASK_WEIGHTS[kind]


def take(kind: str) -> dict:
    """The next account of the plan's pool of `kind`; pools are shared round robin past their size."""
    pool = PLAN[kind]
    return pool[next(_next[kind]) % len(pool)]


def cookie(name: str, value: str, host: str) -> Cookie:
    return Cookie(0, name, value, None, False, host, False, False, "/", True, False, None, False, None, None, {})


class DayUser(FastHttpUser):
    abstract = True
    wait_time = between(*THINK_SECONDS)

    def on_start(self):
        # API clients send their token and no cookies (with the session cookie, the API would ask for CSRF).
        self.api_client = FastHttpSession(
            base_url=self.host,
            request_event=self.environment.events.request,
            user=self,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
        )

    def sign_in(self, account: dict) -> None:
        host = urlsplit(self.host).hostname or "127.0.0.1"
        self.client.cookiejar.set_cookie(cookie("sessionid", account["session"], host))
        self.client.cookiejar.set_cookie(cookie("csrftoken", account["csrf"], host))
        self.csrf = account["csrf"]

    def get(self, path: str, name: str, headers: dict | None = None, expect: int = 200):
        # Redirects are not followed: a lost session must not pass as its login page.
        with self.client.get(path, name=name, headers=headers, catch_response=True, allow_redirects=False) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code} (expected {expect})")
            return response

    def post_form(self, path: str, name: str, data: dict, expect: int = 302):
        """A form of the site: the CSRF token as the page's form carries it; success is a redirect."""
        with self.client.post(
            path,
            name=name,
            data={"csrfmiddlewaretoken": self.csrf, **data},
            headers={"Referer": f"{self.host}{path}"},
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code} (expected {expect})")
            return response

    def api(self, method: str, path: str, name: str, body: dict | None = None, expect: int = 200, headers=None):
        sent = {"Authorization": f"Token {self.token}", **(headers or {})}
        with self.api_client.request(
            method, path, name=name, json=body, headers=sent, catch_response=True, allow_redirects=False
        ) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code} (expected {expect}): {(response.text or '')[:120]}")
            return response


class HelpCentreReader(DayUser):
    """Anonymous: the public help centre's home, its articles and sections, and its search."""

    weight = USER_WEIGHTS["HelpCentreReader"]

    @task(weights("HelpCentreReader")["home"])
    def home(self):
        self.get("/help/", "help: home")

    @task(weights("HelpCentreReader")["article"])
    def article(self):
        self.get(random.choice(PLAN["articles"]), "help: article")  # noqa: S311 - a load mix, not security

    @task(weights("HelpCentreReader")["search"])
    def search(self):
        self.get(f"/help/search/?q={random.choice(PLAN['searches'])}", "help: search")  # noqa: S311

    @task(weights("HelpCentreReader")["category"])
    def category(self):
        self.get(random.choice(PLAN["categories"]), "help: section")  # noqa: S311


class StatusVisitor(DayUser):
    """Anonymous: the public status page, and its JSON as monitoring scripts read it."""

    weight = USER_WEIGHTS["StatusVisitor"]

    @task(weights("StatusVisitor")["page"])
    def page(self):
        self.get("/status/", "status: page")

    @task(weights("StatusVisitor")["json"])
    def json(self):
        self.get("/status/status.json", "status: JSON")


class Customer(DayUser):
    """A signed-in customer in the control panel: lists, reads, files (API and form) and replies."""

    weight = USER_WEIGHTS["Customer"]

    def on_start(self):
        super().on_start()
        account = take("customers")
        self.sign_in(account)
        self.token = account["token"]
        self.tickets = list(account["tickets"])
        self.filed: list[int] = []

    @task(weights("Customer")["panel_home"])
    def panel_home(self):
        self.get("/panel/", "panel: home")

    @task(weights("Customer")["panel_list"])
    def panel_list(self):
        self.get("/panel/tickets/", "panel: ticket list")

    @task(weights("Customer")["panel_ticket"])
    def panel_ticket(self):
        number = random.choice(self.filed or self.tickets)  # noqa: S311
        self.get(f"/panel/tickets/{number}/", "panel: ticket page")

    @task(weights("Customer")["api_list"])
    def api_list(self):
        self.api("GET", "/api/v1/tickets/", "API: ticket list (customer)")

    def new_ticket(self) -> dict:
        n = random.randint(1000, 9999)  # noqa: S311
        return {
            "subject": random.choice(SUBJECTS).format(n=n),  # noqa: S311
            "body": "Since this morning the service times out.\n\nPlease have a look.",
            "category": random.choice(["tech_simple", "general", "billing", "tech_medium"]),  # noqa: S311
            "urgency": "normal",
            "service": f"VPS vps-{n}.example.net",
        }

    @task(weights("Customer")["file_api"])
    def file_api(self):
        response = self.api(
            "POST",
            "/api/v1/tickets/",
            "API: file a ticket",
            body=self.new_ticket(),
            expect=201,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        if response.status_code == 201:
            self.filed.append(response.json()["number"])

    @task(weights("Customer")["file_form"])
    def file_form(self):
        form = self.get("/panel/tickets/new/", "panel: new ticket form")
        token = FORM_TOKEN.search(form.text or "")
        if not token:
            return
        response = self.post_form(
            "/panel/tickets/new/", "panel: file a ticket (form)", {**self.new_ticket(), "form_token": token.group(1)}
        )
        found = TICKET_IN_LOCATION.search(response.headers.get("Location") or "")
        if found:
            self.filed.append(int(found.group(1)))

    @task(weights("Customer")["reply"])
    def reply(self):
        if not self.filed:
            self.file_api()
            return
        number = random.choice(self.filed)  # noqa: S311
        if random.random() < 0.5:  # noqa: S311
            self.api(
                "POST",
                f"/api/v1/tickets/{number}/messages/",
                "API: reply (customer)",
                body={"body": "Any news? The service still times out."},
                expect=201,
            )
        else:
            self.post_form(
                f"/panel/tickets/{number}/reply/", "panel: reply (form)", {"body": "Here is the output you asked for."}
            )


class ChatCustomer(DayUser):
    """A signed-in customer who chats through the chat's HTTP API: starts, writes twice, reads, closes."""

    weight = USER_WEIGHTS["ChatCustomer"]

    def on_start(self):
        super().on_start()
        self.token = take("chatters")["token"]

    @task(weights("ChatCustomer")["conversation"])
    def conversation(self):
        started = self.api("POST", "/api/v1/chat/chats/", "chat: start", body={"language": "en"}, expect=201)
        if started.status_code != 201:
            return
        chat = started.json()["id"]
        for body in ("Hello, my VPS does not answer on ssh.", "It is vps-4242.example.net."):
            self.api(
                "POST",
                f"/api/v1/chat/chats/{chat}/messages/",
                "chat: write",
                body={"body": body, "client_id": uuid.uuid4().hex},
                expect=201,
            )
        self.api("GET", f"/api/v1/chat/chats/{chat}/messages/?after=0", "chat: read")
        self.api("POST", f"/api/v1/chat/chats/{chat}/close/", "chat: close")


class Agent(DayUser):
    """A signed-in agent in the workspace: lists and views, takes the next ticket, opens it, answers."""

    weight = USER_WEIGHTS["Agent"]

    def on_start(self):
        super().on_start()
        account = take("agents")
        self.sign_in(account)
        self.token = account["token"]
        self.tickets = list(account["tickets"])
        self.taken: list[int] = []

    @task(weights("Agent")["desk_home"])
    def desk_home(self):
        self.get("/desk/", "desk: home")

    @task(weights("Agent")["desk_list"])
    def desk_list(self):
        self.get("/desk/tickets/", "desk: ticket list")

    @task(weights("Agent")["saved_view"])
    def saved_view(self):
        view = random.choice(["my-open", "my-open", "breaching-today", "waiting-customer"])  # noqa: S311
        self.get(f"/desk/tickets/?view={view}", "desk: saved view")

    @task(weights("Agent")["take_next"])
    def take_next(self):
        response = self.post_form("/desk/tickets/take-next/", "desk: take next", {})
        found = TICKET_IN_LOCATION.search(response.headers.get("Location") or "")
        if found:
            number = int(found.group(1))
            self.taken.append(number)
            self.get(f"/desk/tickets/{number}/", "desk: ticket page")

    @task(weights("Agent")["open_ticket"])
    def open_ticket(self):
        number = random.choice(self.taken or self.tickets)  # noqa: S311
        self.get(f"/desk/tickets/{number}/", "desk: ticket page")

    @task(weights("Agent")["reply"])
    def reply(self):
        if not self.taken:
            self.take_next()
            return
        number = self.taken.pop(0)
        self.post_form(
            f"/desk/tickets/{number}/reply/",
            "desk: reply",
            {
                "body": "Hello! We have restarted the service; please check.",
                "kind": "public",
                "wait_for_customer": "on",
            },
        )

    @task(weights("Agent")["api_list"])
    def api_list(self):
        self.api("GET", "/api/v1/tickets/", "API: ticket list (agent)")


class Manager(DayUser):
    """A signed-in manager: the SLA dashboard, the queue overview, and both through the API."""

    weight = USER_WEIGHTS["Manager"]

    def on_start(self):
        super().on_start()
        account = take("managers")
        self.sign_in(account)
        self.token = account["token"]

    @task(weights("Manager")["dashboard"])
    def dashboard(self):
        self.get("/manage/", "manage: dashboard")

    @task(weights("Manager")["queue"])
    def queue(self):
        self.get("/manage/queue/", "manage: queue")

    @task(weights("Manager")["api_sla"])
    def api_sla(self):
        self.api("GET", "/api/v1/reports/sla/", "API: SLA report")

    @task(weights("Manager")["api_queue"])
    def api_queue(self):
        self.api("GET", "/api/v1/queue/", "API: queue overview")
