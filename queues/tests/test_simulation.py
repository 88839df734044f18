"""The queue simulation: deterministic, the starvation bound holds, strict weight order starves."""

import itertools

import pytest

from queues.management.commands.simulate_queue import BEGIN, END, write_section
from queues.simulation import (
    DISCIPLINES,
    SimulationConfig,
    format_report,
    make_workload,
    run_discipline,
    simulate,
)

# A week at a high load, a small population: about 1,600 tickets, well under a second.
HIGH = SimulationConfig(requests_per_month=7000, days=7, customers=500, seed=3)


@pytest.fixture(scope="module")
def high_load():
    return simulate(HIGH)


def test_the_same_seed_gives_the_same_month():
    config = SimulationConfig(requests_per_month=5000, days=3, customers=300, seed=7)
    first, second = simulate(config), simulate(config)
    for name in DISCIPLINES:
        assert first.results[name].waits == second.results[name].waits
        assert first.results[name].boosts_bought == second.results[name].boosts_bought
    assert format_report(first) == format_report(second)
    other = simulate(SimulationConfig(requests_per_month=5000, days=3, customers=300, seed=8))
    assert [t.arrival for t in other.workload.tickets] != [t.arrival for t in first.workload.tickets]


def test_every_discipline_serves_the_same_tickets_with_the_same_work(high_load):
    tickets = high_load.workload.tickets
    for name in DISCIPLINES:
        result = high_load.results[name]
        assert len(result.waits) == len(tickets)
        assert min(result.waits) >= 0
    assert high_load.results["fifo"].max_overtaken_by == 0
    assert high_load.results["fifo"].boosts_bought == 0


@pytest.mark.parametrize("max_credit", [60, 240])
def test_virtual_time_never_lets_a_ticket_be_overtaken_by_one_queued_more_than_the_bound_later(max_credit):
    # Overload and many boosters: long waits, and boosts press against the cap as hard as they can.
    config = SimulationConfig(
        requests_per_month=7000,
        days=3,
        customers=300,
        seed=5,
        max_credit=max_credit,
        boost_share=0.3,
        availability=0.5,
    )
    workload = make_workload(config)
    result = run_discipline(workload, "virtual")
    assert result.boosts_bought > 0
    assert result.boosts_capped > 0
    tickets = workload.tickets
    worst = 0.0
    for earlier, later in itertools.combinations(tickets, 2):  # arrival order
        if result.starts[later.idx] < result.starts[earlier.idx]:
            worst = max(worst, later.arrival - earlier.arrival)
    assert 0 < worst <= max_credit
    assert result.max_overtaken_by == pytest.approx(worst)
    # The unbounded strict order breaks the same promise on the same tickets.
    assert run_discipline(workload, "strict").max_overtaken_by > max_credit


def test_strict_weight_order_starves_the_lowest_class_and_virtual_time_does_not(high_load):
    lowest = high_load.lowest_class
    assert lowest == "problematic"
    strict = high_load.stats("strict", lowest).max
    virtual = high_load.stats("virtual", lowest).max
    fifo = high_load.stats("fifo", lowest).max
    assert strict > virtual
    assert strict - fifo > HIGH.max_credit  # far beyond the bound
    assert high_load.results["strict"].max_overtaken_by > HIGH.max_credit
    assert high_load.results["virtual"].max_overtaken_by <= HIGH.max_credit


def test_high_value_customers_still_wait_less_under_virtual_time(high_load):
    high_value = high_load.stats("virtual", "high-value")
    ordinary = high_load.stats("virtual", "ordinary")
    assert high_value.tickets > 0 and ordinary.tickets > 0
    assert high_value.p50 <= ordinary.p50
    assert high_value.p90 <= ordinary.p90


def test_the_report_rewrites_only_its_section(tmp_path):
    doc = tmp_path / "queue.md"
    doc.write_text(f"# Queue\n\nintro\n\n{BEGIN}\nold numbers\n{END}\n\nafterword\n", encoding="utf-8")
    write_section(doc, "new numbers\n")
    assert doc.read_text(encoding="utf-8") == f"# Queue\n\nintro\n\n{BEGIN}\nnew numbers\n{END}\n\nafterword\n"
