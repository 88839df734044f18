"""The quality desk's arithmetic, over plain values: the results per agent or line (share of
likes, the share adjusted by the reviewers' fairness verdicts, quality score, disputes) and a
calibration session's spread per criterion. It reads and writes nothing."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from quality.models import CRITERIA, Criterion, DisputeState, Verdict

# What the results are grouped by: an agent's or a line's id (None: no line).
Key = int | str | None


@dataclass(frozen=True)
class RatingFact:
    """One rating as the results count it.

    `fair` is the verdict that stands on whether the customer's rating was fair (None: not
    reviewed, or the review was set aside without a verdict); `score` the quality score of the
    review that counts (None: none); `dispute` the state of a dispute of that review.
    """

    key: Key
    verdict: str
    fair: bool | None = None
    score: float | None = None
    dispute: str | None = None


@dataclass
class Result:
    key: Key
    ratings: int = 0
    likes: int = 0
    dislikes: int = 0
    unfair_likes: int = 0
    unfair_dislikes: int = 0
    reviews: int = 0
    disputes_won: int = 0
    disputes_lost: int = 0
    disputes_open: int = 0
    _score_total: float = field(default=0.0, repr=False)

    @property
    def like_share(self) -> float | None:
        """Likes among all ratings, in per cent."""
        return _percent(self.likes, self.ratings)

    @property
    def counted(self) -> int:
        """The ratings that count once the unfair ones are left out."""
        return self.ratings - self.unfair_likes - self.unfair_dislikes

    @property
    def adjusted_like_share(self) -> float | None:
        """Likes among the ratings that count, in per cent: a dislike the reviewers found unfair
        does not count against the agent, and a like they found unfair does not count for them."""
        return _percent(self.likes - self.unfair_likes, self.counted)

    @property
    def quality_score(self) -> float | None:
        """The mean of the counted reviews' scores (0 to 100)."""
        return round(self._score_total / self.reviews, 1) if self.reviews else None

    def as_dict(self) -> dict:
        return {
            "ratings": self.ratings,
            "likes": self.likes,
            "dislikes": self.dislikes,
            "like_share": self.like_share,
            "unfair_likes": self.unfair_likes,
            "unfair_dislikes": self.unfair_dislikes,
            "adjusted_like_share": self.adjusted_like_share,
            "reviews": self.reviews,
            "quality_score": self.quality_score,
            "disputes_won": self.disputes_won,
            "disputes_lost": self.disputes_lost,
            "disputes_open": self.disputes_open,
        }


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def results(facts: Iterable[RatingFact]) -> dict[Key, Result]:
    """Per key (an agent, a line), in the order the keys first appear."""
    table: dict[Key, Result] = {}
    for fact in facts:
        row = table.setdefault(fact.key, Result(key=fact.key))
        row.ratings += 1
        like = fact.verdict == Verdict.LIKE
        if like:
            row.likes += 1
        else:
            row.dislikes += 1
        if fact.fair is False:
            if like:
                row.unfair_likes += 1
            else:
                row.unfair_dislikes += 1
        if fact.score is not None:
            row.reviews += 1
            row._score_total += fact.score
        if fact.dispute == DisputeState.UPHELD:
            row.disputes_won += 1
        elif fact.dispute == DisputeState.REJECTED:
            row.disputes_lost += 1
        elif fact.dispute == DisputeState.OPEN:
            row.disputes_open += 1
    return table


@dataclass(frozen=True)
class CriterionSpread:
    criterion: str
    values: tuple[int, ...]
    mean: float | None
    minimum: int | None
    maximum: int | None
    range: int | None
    stdev: float | None  # population standard deviation: the reviewers are the whole session

    @property
    def label(self) -> str:
        return str(Criterion(self.criterion).label)


def criterion_spread(criterion: str, values: Sequence[int]) -> CriterionSpread:
    if not values:
        return CriterionSpread(criterion, (), None, None, None, None, None)
    mean = sum(values) / len(values)
    stdev = math.sqrt(sum((value - mean) ** 2 for value in values) / len(values))
    return CriterionSpread(
        criterion=criterion,
        values=tuple(values),
        mean=round(mean, 2),
        minimum=min(values),
        maximum=max(values),
        range=max(values) - min(values),
        stdev=round(stdev, 2),
    )


@dataclass(frozen=True)
class Spread:
    criteria: tuple[CriterionSpread, ...]
    fair: int
    unfair: int

    @property
    def fairness_agreement(self) -> float | None:
        """The share of reviewers on the majority's side about the rating's fairness, in per cent."""
        return _percent(max(self.fair, self.unfair), self.fair + self.unfair)


def spread(scorecards: Sequence[dict]) -> Spread:
    """Each scorecard a dict with every criterion and `rating_fair`."""
    return Spread(
        criteria=tuple(criterion_spread(name, [card[name] for card in scorecards]) for name in CRITERIA),
        fair=sum(1 for card in scorecards if card["rating_fair"]),
        unfair=sum(1 for card in scorecards if not card["rating_fair"]),
    )
