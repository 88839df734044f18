"""Fixed histogram buckets for durations, so percentiles of any period come from summed counts.

A duration in minutes falls into the first bucket whose upper edge is at or above it: one-minute
steps up to half an hour (first reactions are measured in minutes), coarser steps after that,
up to 30 days; the last bucket holds everything longer. A percentile read from the summed
counts is the upper edge of the bucket that holds it ("at most N minutes"): exact to the
minute for the first half hour, to the bucket's width beyond.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

# Upper edges in minutes (inclusive): 10.0 minutes falls into the bucket (9, 10], 10.5 into (10, 11].
EDGES: tuple[float, ...] = (
    *range(1, 31),
    35, 40, 45, 50, 55, 60, 75, 90, 105, 120, 150, 180, 210, 240, 300, 360, 420, 480,
    600, 720, 960, 1200, 1440, 2160, 2880, 4320, 5760, 7200, 10080, 14400, 20160, 43200,
    math.inf,
)  # fmt: skip
SIZE = len(EDGES)


def bucket_of(seconds: float) -> int:
    """The index of the bucket a duration falls into (negative durations count as zero)."""
    minutes = max(0.0, seconds / 60)
    return bisect.bisect_left(EDGES, minutes)


def empty() -> list[int]:
    return [0] * SIZE


def percentile(counts: Sequence[int], share: float) -> float | None:
    """The upper edge, in minutes, of the bucket holding the `share` quantile (nearest rank);
    None for no data, and math.inf when it lies in the open last bucket."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total - 1e-9))
    running = 0
    for index, count in enumerate(counts):
        running += count
        if running >= rank:
            return float(EDGES[index])
    return float(EDGES[-1])
