"""Erlang C: how many agents a line needs for a service level, from arrivals and handling time.

The classic model of a queue served by N agents with Poisson arrivals and exponential
handling times (M/M/N): `offered_load` Erlangs = arrivals per second x mean handling seconds.
The probability that a ticket has to wait at all is Erlang's C formula; the share taken
within `t` seconds follows from it. Computed through Erlang B's recursion, which stays
stable for hundreds of agents where factorials overflow.

Pure functions, no database: the staffing forecast feeds them measured rates.
"""

from __future__ import annotations

import math

MAX_AGENTS = 10_000


def erlang_b(offered_load: float, agents: int) -> float:
    """The blocking probability of Erlang B for `agents` servers."""
    if offered_load < 0 or agents < 0:
        raise ValueError("load and agents must not be negative")
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def probability_of_waiting(offered_load: float, agents: int) -> float:
    """Erlang C: the chance that an arriving ticket finds every agent busy (1 when overloaded)."""
    if agents <= offered_load:
        return 1.0
    if offered_load == 0:
        return 0.0
    blocking = erlang_b(offered_load, agents)
    return agents * blocking / (agents - offered_load * (1 - blocking))


def service_level(offered_load: float, agents: int, *, target_seconds: float, handling_seconds: float) -> float:
    """The share of tickets taken within `target_seconds` of arriving."""
    if agents <= offered_load:
        return 0.0
    waiting = probability_of_waiting(offered_load, agents)
    return 1 - waiting * math.exp(-(agents - offered_load) * target_seconds / handling_seconds)


def average_wait_seconds(offered_load: float, agents: int, *, handling_seconds: float) -> float:
    """The mean wait over all tickets (those taken at once count as zero)."""
    if agents <= offered_load:
        return math.inf
    return probability_of_waiting(offered_load, agents) * handling_seconds / (agents - offered_load)


def agents_needed(
    *,
    arrivals_per_hour: float,
    handling_seconds: float,
    target_share: float,
    target_seconds: float,
    shrinkage: float = 0.0,
    max_occupancy: float = 0.85,
) -> tuple[int, int]:
    """(agents answering, agents to schedule) for a target such as 80% within 20 seconds.

    Occupancy, the share of an answering agent's time spent on tickets, is capped as workforce
    planners do (85% by default): above it people burn out and any surge breaks the target,
    even where Erlang C alone would allow fewer agents.
    Shrinkage is the share of paid time not spent on tickets (breaks, training, meetings):
    the scheduled headcount is the answering one divided by (1 - shrinkage), rounded up.
    """
    if not 0 < target_share < 1:
        raise ValueError("the target share must lie between 0 and 1")
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must lie in [0, 1)")
    if not 0 < max_occupancy <= 1:
        raise ValueError("the occupancy cap must lie in (0, 1]")
    if arrivals_per_hour <= 0:
        return 0, 0
    load = arrivals_per_hour * handling_seconds / 3600
    agents = max(1, math.floor(load) + 1, math.ceil(round(load / max_occupancy, 9)))
    while service_level(load, agents, target_seconds=target_seconds, handling_seconds=handling_seconds) < target_share:
        agents += 1
        if agents > MAX_AGENTS:
            raise ValueError(f"the target needs more than {MAX_AGENTS} agents")
    scheduled = math.ceil(round(agents / (1 - shrinkage), 9))
    return agents, scheduled
