"""The demo's rosters: the first line is staffed around the clock, the others on working days."""

import datetime as dt

from accounts.models import User
from helpdesk.demo import LINES
from queues.models import Line
from shifts import policy
from shifts.demo import demo_shift_rows

MON = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def demo_roster():
    lines = {code: Line(pk=n + 1, code=code) for n, (code, *_rest) in enumerate(LINES)}
    staff, next_id = {}, 1
    for code, _name, _name_ru, _kind, _level, headcount, _description in LINES:
        staff[code] = [User(pk=next_id + i, username=f"{code}-{i}") for i in range(headcount)]
        next_id += headcount
    rows = demo_shift_rows(lines, staff)
    records = [policy.WeeklyShift(r.agent.pk, r.line.pk, r.weekday, r.starts_at, r.ends_at, r.time_zone) for r in rows]
    return lines, staff, records


def test_the_first_line_is_staffed_every_hour_of_the_week_and_nobody_works_more_than_five_days():
    lines, staff, records = demo_roster()
    week = (MON, MON + dt.timedelta(days=7))
    steps = policy.staffing(policy.duty_intervals(records, [], *week, line_id=lines["first-line"].pk), *week)
    assert min(count for _, count in steps) >= 1
    for agent in staff["first-line"]:
        assert sum(1 for r in records if r.agent_id == agent.pk) == 5


def test_consultants_work_weekdays_ten_to_six_moscow_time():
    lines, _staff, records = demo_roster()
    line_id = lines["consultants"].pk
    saturday_noon = MON + dt.timedelta(days=5, hours=9)
    monday_noon_msk = MON + dt.timedelta(hours=9)  # 12:00 in Moscow (UTC+3)
    monday_night = MON + dt.timedelta(hours=20)
    duty = policy.duty_intervals(records, [], MON, MON + dt.timedelta(days=7), line_id=line_id)
    on = lambda moment: sum(any(s <= moment < e for s, e in spans) for spans in duty.values())  # noqa: E731
    assert on(monday_noon_msk) == 6
    assert on(saturday_noon) == 0 and on(monday_night) == 0
