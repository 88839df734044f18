"""How long an item waiting for a person is likely to wait: the queue's own model, pure maths.

Generic over "items ahead": a ticket in a line's queue (`queues.selectors.queue_estimate`)
or, later, a chat waiting for an agent. The caller measures and passes everything:

- `capacity`: steps of how many items an hour the people on duty can take, from now on
  (agents on duty by the roster divided by the measured handling time per agent, or the
  measured pace of a line without a roster);
- `ahead`: items that will be taken before this one as things stand;
- `overtaking`: the measured arrival rate per hour of the day and the share of arrivals
  with more head start than a given number of minutes, for the items that will arrive while
  this one waits and still go ahead of it (only within the queue's bound);
- `service_cv2`: the squared coefficient of variation of the handling time.

The model: the item is taken at the K-th completion, K = ahead + 1 + O, where O, the
overtakers that arrive before then, is Poisson with mean m(t) (the arrival rate times the
share of arrivals with enough head start, integrated over the wait). Completions happen at
the capacity's rate: in "operational time" Λ(t) (the capacity integrated from now) the K-th
completion comes after a sum of K handling units, whose mean is K and variance K·cv².
An agent who comes on duty takes an item at once (at a shift change, the whole incoming
team): Λ jumps by one at each such moment. The sum's distribution is approximated by a gamma
with the same mean and variance (exact for exponential handling and no overtakers: the
Erlang), so

    P(wait <= t) = GammaCDF(Λ(t); shape = μ²/σ², scale = σ²/μ),
    μ = ahead + 1 + m(t),  σ² = μ·cv² + m(t)

and the range is the central `probability` interval of that distribution. Closed hours have
zero capacity: the wait runs through them, and the range says when the line opens rather than
a number of minutes. Analytic, not Monte Carlo: no random numbers, the same answer every
time, and about a millisecond per estimate.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# Capacity: items an hour that can be taken within [start, end).
CapacityStep = tuple[tuple[dt.datetime, dt.datetime], float]

DEFAULT_PROBABILITY = 0.85
# Beyond this many items ahead the range is kept to at most MAX_RATIO (high / low): a range
# far back in the queue that spans more than a doubling tells the customer nothing. The
# probability stated is then the model's for the narrower range.
NARROW_FROM_AHEAD = 5
MAX_RATIO = 2.0
_EPS = 1e-12


@dataclass(frozen=True)
class Overtaking:
    """Who arrives later and still goes ahead: the rate per hour of the day (local time, in
    `time_zone`) and, at index x, the share of arrivals with a head start above x minutes.
    The list ends at the queue's bound: nobody has more head start than that."""

    arrivals_per_hour: Sequence[float]  # 24 values
    share_above: Sequence[float]
    time_zone: str = "UTC"


@dataclass(frozen=True)
class WaitRange:
    low_minutes: float
    high_minutes: float
    median_minutes: float
    probability: float  # the model's chance that the wait falls within [low, high]
    opens_at: dt.datetime | None  # the line is closed, or closes, before the item is likely reached
    closes_at: dt.datetime | None  # when it closes first, if it is open now


def regularized_gamma(shape: float, x: float) -> float:
    """P(shape, x): the lower regularized incomplete gamma function (the gamma CDF at x, scale 1)."""
    if x <= 0:
        return 0.0
    if shape <= 0:
        return 1.0
    log_prefix = -x + shape * math.log(x) - math.lgamma(shape)
    if x < shape + 1:
        # Series: converges fast below the mean.
        term = total = 1.0 / shape
        a = shape
        for _ in range(100_000):
            a += 1
            term *= x / a
            total += term
            if term < total * 1e-14:
                break
        return min(1.0, total * math.exp(log_prefix))
    # Continued fraction for the upper part (Lentz), above the mean.
    b = x + 1 - shape
    c = 1 / 1e-300
    d = 1 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - shape)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-14:
            break
    return max(0.0, 1.0 - math.exp(log_prefix) * h)


class _Model:
    """The wait's distribution for one item; times in minutes from `now`."""

    def __init__(
        self,
        *,
        now: dt.datetime,
        ahead: int,
        capacity: Sequence[CapacityStep],
        service_cv2: float,
        overtaking: Overtaking | None,
        credit_minutes: float,
        waited_minutes: float,
        starting: Sequence[dt.datetime] = (),
    ):
        self.ahead = max(0, ahead)
        # An agent who comes on duty takes an item at once, then works at the capacity's rate.
        self.jumps = sorted(
            offset for offset in ((moment - now).total_seconds() / 60 for moment in starting) if offset > 0
        )
        self.cv2 = max(0.05, service_cv2)
        # Capacity as (start, end, items a minute), relative to now, in order.
        self.steps: list[tuple[float, float, float]] = []
        for (start, end), per_hour in sorted(capacity, key=lambda step: step[0][0]):
            s = max(0.0, (start - now).total_seconds() / 60)
            e = (end - now).total_seconds() / 60
            if e > s:
                self.steps.append((s, e, max(0.0, per_hour) / 60))
        self.horizon = self.steps[-1][1] if self.steps else 0.0
        self.cumulative = [0.0]
        for s, e, rate in self.steps:
            self.cumulative.append(self.cumulative[-1] + (e - s) * rate)
        self.overtakers = self._overtakers(now, overtaking, credit_minutes, waited_minutes)

    @staticmethod
    def _overtakers(now: dt.datetime, overtaking: Overtaking | None, credit: float, waited: float) -> list[float]:
        """m at each whole minute from now, until no later arrival can go ahead any more."""
        if overtaking is None or not overtaking.share_above:
            return [0.0]
        local = now.astimezone(ZoneInfo(overtaking.time_zone))
        minute_of_day = local.hour * 60 + local.minute
        share = overtaking.share_above
        # An arrival `lag` minutes after this item was queued goes ahead with a head start
        # above own credit + lag: the lag is the time already waited plus the time from now.
        first = int(math.floor(credit + waited))
        expected = [0.0]
        for j in range(max(0, len(share) - first)):
            hour = ((minute_of_day + j) // 60) % 24
            rate = overtaking.arrivals_per_hour[hour] / 60
            expected.append(expected[-1] + rate * share[first + j])
        return expected

    def operational(self, t: float) -> float:
        """Λ(t): the items the capacity can take from now until t, with those taken at once by
        agents coming on duty."""
        jumps = bisect.bisect_right(self.jumps, t)
        for index, (s, e, rate) in enumerate(self.steps):
            if t < e:
                return self.cumulative[index] + max(0.0, t - s) * rate + jumps
        return self.cumulative[-1] + jumps

    def expected_overtakers(self, t: float) -> float:
        table = self.overtakers
        if t >= len(table) - 1:
            return table[-1]
        whole = int(t)
        return table[whole] + (t - whole) * (table[whole + 1] - table[whole])

    def cdf(self, t: float) -> float:
        if t <= 0:
            return 0.0
        m = self.expected_overtakers(t)
        mean = self.ahead + 1 + m
        variance = mean * self.cv2 + m
        return regularized_gamma(mean * mean / variance, self.operational(t) * mean / variance)

    def quantile(self, p: float) -> float | None:
        """The first t with P(wait <= t) >= p; None when it lies beyond the capacity known."""
        if self.horizon <= 0 or self.cdf(self.horizon) < p:
            return None
        low, high = 0.0, 1.0
        while high < self.horizon and self.cdf(high) < p:
            low, high = high, high * 2
        high = min(high, self.horizon)
        for _ in range(50):
            middle = (low + high) / 2
            if self.cdf(middle) >= p:
                high = middle
            else:
                low = middle
            if high - low < 0.01:
                break
        return high

    def gaps(self) -> list[tuple[float, float]]:
        """Stretches with no capacity (nobody on duty), merged."""
        found: list[tuple[float, float]] = []
        for s, e, rate in self.steps:
            if rate > 0:
                continue
            if found and abs(found[-1][1] - s) < _EPS:
                found[-1] = (found[-1][0], e)
            else:
                found.append((s, e))
        return found


def wait_range(
    *,
    now: dt.datetime,
    ahead: int,
    capacity: Sequence[CapacityStep],
    service_cv2: float = 1.0,
    overtaking: Overtaking | None = None,
    credit_minutes: float = 0,
    waited_minutes: float = 0,
    starting: Sequence[dt.datetime] = (),
    probability: float = DEFAULT_PROBABILITY,
    narrow_from_ahead: int = NARROW_FROM_AHEAD,
    max_ratio: float = MAX_RATIO,
) -> WaitRange | None:
    """The central `probability` range of the wait, from now; None when the capacity known
    (the roster's horizon) is not enough to reach the item. `starting`: the moments agents come
    on duty (one a moment, repeated for several), each taking an item at once."""
    model = _Model(
        now=now,
        ahead=ahead,
        capacity=capacity,
        service_cv2=service_cv2,
        overtaking=overtaking,
        credit_minutes=credit_minutes,
        waited_minutes=waited_minutes,
        starting=starting,
    )
    tail = (1 - probability) / 2
    low, high, median = model.quantile(tail), model.quantile(1 - tail), model.quantile(0.5)
    if low is None or high is None or median is None:
        return None
    stated = probability
    if ahead >= narrow_from_ahead and high > max_ratio * max(low, _EPS):
        low, high = _narrowest(model, low, high, max_ratio)
        stated = model.cdf(high) - model.cdf(low)
    opens_at = closes_at = None
    # A line closed now, or closing before the item is likely reached, is told by its opening:
    # the end of the last closed stretch before the median wait.
    closed = [gap for gap in model.gaps() if gap[0] < median]
    if closed:
        opens_at = now + dt.timedelta(minutes=closed[-1][1])
        closes_at = now + dt.timedelta(minutes=closed[0][0]) if closed[0][0] > 0 else None
    return WaitRange(
        low_minutes=low,
        high_minutes=high,
        median_minutes=median,
        probability=stated,
        opens_at=opens_at,
        closes_at=closes_at,
    )


def _narrowest(model: _Model, low: float, high: float, ratio: float) -> tuple[float, float]:
    """[L, ratio·L] within [low, high] that holds the most probability (golden-section search on log L)."""
    a, b = math.log(max(low, 0.01)), math.log(max(high / ratio, low, 0.01))
    golden = (math.sqrt(5) - 1) / 2

    def held(log_low: float) -> float:
        start = math.exp(log_low)
        return model.cdf(start * ratio) - model.cdf(start)

    c, d = b - golden * (b - a), a + golden * (b - a)
    for _ in range(40):
        if held(c) >= held(d):
            b = d
        else:
            a = c
        c, d = b - golden * (b - a), a + golden * (b - a)
        if b - a < 1e-4:
            break
    best = math.exp((a + b) / 2)
    return best, best * ratio
