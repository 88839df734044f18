"""The demo help centre and the evaluation set: 40+ articles in each language, and the
answering engine's targets on the real-looking questions of knowledge/eval/questions.csv."""

import pytest

from knowledge import evaluation
from knowledge.demo import upsert_demo_help_centre
from knowledge.models import Article, GuideStep

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    return upsert_demo_help_centre()


def test_the_demo_has_forty_real_articles_in_each_language_and_is_idempotent(demo):
    published = Article.objects.filter(status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC)
    for language in ("en", "ru"):
        written = published.exclude(**{f"title_{language}": ""})
        assert written.count() >= 40
        assert min(len(getattr(a, f"body_{language}")) for a in written) > 400
    assert GuideStep.objects.filter(parent__isnull=True).count() == 5
    assert upsert_demo_help_centre() == {"articles": 0, "guides": 0}


def test_the_evaluation_set_is_real_sized():
    questions = evaluation.questions()
    assert len(questions) >= 80
    assert {q.language for q in questions} == {"en", "ru"}
    assert sum(q.expected == evaluation.NONE for q in questions) >= 8


def test_the_answering_engine_meets_its_targets(demo):
    slugs = set(Article.objects.values_list("slug", flat=True))
    questions = evaluation.questions()
    assert {q.expected for q in questions} - {evaluation.NONE} <= slugs
    report = evaluation.evaluate(questions)
    assert report.top3 >= 0.90, report.top3
    assert report.confidently_wrong <= 0.05, report.confidently_wrong
    assert report.dont_know >= 0.8, report.dont_know
