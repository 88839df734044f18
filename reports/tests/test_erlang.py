"""Erlang C against published examples and its own limits."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.erlang import agents_needed, erlang_b, probability_of_waiting, service_level


def test_ten_erlangs_on_fourteen_agents_wait_seventeen_percent_and_meet_89_percent_within_20_seconds():
    assert probability_of_waiting(10, 14) == pytest.approx(0.174, abs=0.0005)
    assert service_level(10, 14, target_seconds=20, handling_seconds=180) == pytest.approx(0.888, abs=0.0005)


def test_a_thousand_calls_an_hour_at_two_minutes_need_40_agents_for_80_in_20_and_58_with_30_percent_shrinkage():
    # Erlang C alone is met by 38 agents (84.7% within 20 s); the 85% occupancy cap asks for 40.
    assert service_level(1000 * 120 / 3600, 38, target_seconds=20, handling_seconds=120) == pytest.approx(
        0.847, abs=5e-4
    )
    assert agents_needed(
        arrivals_per_hour=1000, handling_seconds=120, target_share=0.8, target_seconds=20, max_occupancy=1
    ) == (38, 38)
    assert agents_needed(arrivals_per_hour=1000, handling_seconds=120, target_share=0.8, target_seconds=20) == (40, 40)
    answering, scheduled = agents_needed(
        arrivals_per_hour=1000, handling_seconds=120, target_share=0.8, target_seconds=20, shrinkage=0.3
    )
    assert (answering, scheduled) == (40, 58)


def test_erlang_b_matches_its_closed_form_for_small_groups():
    load, agents = 3.0, 5
    closed = (load**agents / math.factorial(agents)) / sum(load**k / math.factorial(k) for k in range(agents + 1))
    assert erlang_b(load, agents) == pytest.approx(closed)


def test_an_overloaded_line_always_waits_and_an_idle_one_never_does():
    assert probability_of_waiting(5, 5) == 1.0
    assert service_level(5, 4, target_seconds=20, handling_seconds=60) == 0.0
    assert probability_of_waiting(0, 3) == 0.0
    assert agents_needed(arrivals_per_hour=0, handling_seconds=600, target_share=0.8, target_seconds=600) == (0, 0)


@settings(deadline=None)
@given(st.floats(0.1, 200), st.integers(1, 60))
def test_one_more_agent_never_lowers_the_service_level(load, extra):
    agents = math.floor(load) + extra
    now = service_level(load, agents, target_seconds=30, handling_seconds=300)
    more = service_level(load, agents + 1, target_seconds=30, handling_seconds=300)
    assert 0 <= now <= more <= 1
