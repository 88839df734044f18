"""The report pages and the API: what they show, their CSV exports, and the filters."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import cube
from reports.tests.conftest import DAY, at, msk

pytestmark = pytest.mark.django_db
PERIOD = {"start": "2026-03-02", "end": "2026-03-03"}


@pytest.fixture
def stored(next_day):
    with at(msk(2026, 3, 5, 12, 0)):
        cube.rebuild(since=DAY)
    return next_day


def get(client, user, name, **params):
    client.force_login(user)
    with at(msk(2026, 3, 5, 12, 0)):
        return client.get(reverse(name), params)


@pytest.mark.parametrize("name", ["manage", "manage-load", "manage-fairness", "manage-forecast"])
def test_every_page_renders_its_tables_without_javascript(client, stored, manager, name):
    response = get(client, manager, name, **PERIOD)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<table" in body and "export=" in body
    assert "style=" not in body and "onclick" not in body


def test_the_dashboard_shows_the_shares_and_links_breaching_tickets(client, stored, manager):
    response = get(client, manager, "manage", **PERIOD)
    body = response.content.decode()
    assert "66.7\u00a0%" in body  # first response on time: two of three
    assert response.context["summary"]["targets"]["first_response"]["breached"] == 1
    assert [line.code for line in response.context["lines"]] == ["first", "second", "third"]


def test_csv_export_of_a_table(client, stored, manager):
    response = get(client, manager, "manage-load", export="transfers", **PERIOD)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["From", "To", "Transfers"]
    assert sorted(rows[1:]) == [["first", "second", "1"], ["second", "third", "1"]]


def test_russian_pages_write_numbers_the_russian_way(client, stored, manager):
    manager.language = "ru"
    manager.save()
    client.cookies["django_language"] = "ru"
    body = get(client, manager, "manage", **PERIOD).content.decode()
    assert "66,7\u00a0%" in body


def test_the_filters_narrow_the_figures(client, stored, manager):
    a3 = stored["agents"][2]
    response = get(client, manager, "manage", agent=a3.username, **PERIOD)
    assert response.context["summary"]["created"] == 1
    response = get(client, manager, "manage", line="third", **PERIOD)
    assert response.context["summary"]["created"] == 0


def test_api_gives_the_same_figures(client, stored, manager):
    response = get(client, manager, "api:report-sla", **PERIOD)
    assert response.status_code == 200
    data = response.json()
    assert data["period"] == {"start": "2026-03-02", "end": "2026-03-03"}
    assert data["summary"]["targets"]["first_response"]["met"] == 2
    assert data["tables"]["targets"][0]["share_met"] == pytest.approx(2 / 3, abs=1e-4)
    load = get(client, manager, "api:report-load", **PERIOD).json()
    assert {(r["from_line"], r["to_line"]): r["transfers"] for r in load["tables"]["transfers"]} == {
        ("first", "second"): 1,
        ("second", "third"): 1,
    }
    assert get(client, manager, "api:report-forecast", **PERIOD).status_code == 200
    assert get(client, manager, "api:report-fairness", **PERIOD).status_code == 200


def test_a_bad_period_is_a_400_in_the_api(client, stored, manager):
    response = get(client, manager, "api:report-sla", start="2026-03-05", end="2026-03-01")
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["manage", "manage-load", "api:report-sla", "api:report-load"])
def test_a_page_reads_todays_part_once_for_all_its_figures(client, stored, manager, name):
    """A period that holds today adds today's live part to every figure; the page (or the API's
    answer) asks for the newest event, SLA record and ticket once, not once per figure."""
    with CaptureQueriesContext(connection) as captured:
        response = get(client, manager, name, start="2026-03-02", end="2026-03-05")

    assert response.status_code == 200
    marks = [q for q in captured.captured_queries if "MAX(id) FROM tickets_ticketevent" in q["sql"]]
    assert len(marks) == 1
    # Outside a page every figure asks again: the live part stays exact between reads.
    with at(msk(2026, 3, 5, 12, 0)), CaptureQueriesContext(connection) as bare:
        cube.live_today()
        cube.live_today()
    assert len([q for q in bare.captured_queries if "MAX(id) FROM tickets_ticketevent" in q["sql"]]) == 2


def test_the_filters_read_their_options_without_a_server_side_cursor(client, stored, manager):
    with CaptureQueriesContext(connection) as captured:
        response = get(client, manager, "manage", **PERIOD)

    assert response.status_code == 200
    assert 'name="agent"' in response.content.decode()
    assert not [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DECLARE")]
