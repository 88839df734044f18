"""The answering engine measured against the evaluation set (knowledge/eval/questions.csv):
real-looking customer questions in English and Russian, each with the article that answers it
or "none". Used by `make bench` (bench/knowledge.py) and by the test that keeps the targets."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import AnonymousUser

from knowledge import selectors

QUESTIONS = Path(__file__).resolve().parent / "eval" / "questions.csv"
NONE = "none"


@dataclass
class Question:
    language: str
    text: str
    expected: str


@dataclass
class Outcome:
    question: Question
    found: list[str]
    confident: bool
    confidence: float

    @property
    def answerable(self) -> bool:
        return self.question.expected != NONE

    @property
    def top1(self) -> bool:
        return self.answerable and self.found[:1] == [self.question.expected]

    @property
    def top3(self) -> bool:
        return self.answerable and self.question.expected in self.found[:3]

    @property
    def confidently_wrong(self) -> bool:
        return self.confident and (not self.answerable or not self.top1)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def _share(self, items: list[Outcome], test) -> float:
        return sum(1 for item in items if test(item)) / len(items) if items else 0.0

    @property
    def answerable(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.answerable]

    @property
    def unanswerable(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.answerable]

    @property
    def top1(self) -> float:
        return self._share(self.answerable, lambda o: o.top1)

    @property
    def top3(self) -> float:
        return self._share(self.answerable, lambda o: o.top3)

    @property
    def confidently_wrong(self) -> float:
        """Of all questions, the share answered confidently with a wrong article (or any, for "none")."""
        return self._share(self.outcomes, lambda o: o.confidently_wrong)

    @property
    def dont_know(self) -> float:
        """Of the questions the help centre cannot answer, the share where the engine said so."""
        return self._share(self.unanswerable, lambda o: not o.confident)

    @property
    def answered_confidently(self) -> float:
        """Of the answerable questions, the share answered confidently (right or wrong)."""
        return self._share(self.answerable, lambda o: o.confident)

    def by_language(self, language: str) -> Report:
        return Report([o for o in self.outcomes if o.question.language == language])


def questions(path: Path = QUESTIONS) -> list[Question]:
    with path.open(encoding="utf-8", newline="") as file:
        return [Question(row["language"], row["question"], row["expected"].strip()) for row in csv.DictReader(file)]


def evaluate(items: list[Question] | None = None) -> Report:
    """Ask the engine every question as an anonymous visitor would."""
    visitor = AnonymousUser()
    report = Report()
    for item in items if items is not None else questions():
        answer = selectors.answer(user=visitor, question=item.text, language=item.language)
        report.outcomes.append(
            Outcome(item, [hit.article.slug for hit in answer.hits], answer.confident, answer.confidence)
        )
    return report
