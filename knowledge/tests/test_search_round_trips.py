"""A search is two round trips: the question's words normalised, then one statement that finds,
scores and reads the best articles with their sections and snippets; the same answers as the
scoring done article by article."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge import search, selectors, vocabulary
from knowledge.tests.factories import article
from knowledge.tests.test_search import corpus  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "language", "options"),
    [
        ("restore site from backup", "en", {}),
        ("востановить сайт", "ru", {}),
        ("wordpres", "en", {"prefix": True, "limit": 8}),
        ("apache AH00072", "en", {"ticket_category": "tech_simple", "short_snippets": True}),
    ],
)
def test_a_search_is_two_round_trips_with_sections_and_snippets(corpus, query, language, options):  # noqa: F811
    vocabulary.vocabulary(language)  # built (and cached) outside the search, as it is in service
    with CaptureQueriesContext(connection) as queries:
        results = selectors.search_articles(user=AnonymousUser(), query=query, language=language, **options)
        hits = [(hit.article.slug, hit.article.category.slug, str(hit.snippet), hit.confidence) for hit in results.hits]
    assert hits
    assert len(queries) == 2, [q["sql"][:80] for q in queries]
    assert all(category for _slug, category, _snippet, _confidence in hits)
    # The snippet marks the words found in the text (a word being typed may match a title only).
    assert "<mark>" in hits[0][2] or options.get("prefix")


def test_the_scores_are_those_of_the_terms_coverage(corpus):  # noqa: F811
    """The statement's score, worked out by hand from the analysis: coverage of the terms (title
    fully, text BODY_MATCH), phrase bonuses, ts_rank (at most 1) times 0.1."""
    analysis = search.analyse_best("white screen wordpress", "en")
    top, total = search.ranked(analysis, visibilities=["public"], limit=3)
    best = top[0]
    assert best.article.slug == "wordpress-white-screen" and total >= 1
    # Every term is in the title; "white screen" is a phrase there too ("screen wordpress" is not).
    coverage = sum(t.weight for t in analysis.searchable) / analysis.total_weight
    assert best.candidate.coverage == pytest.approx(coverage)
    expected = coverage + search.PHRASE_TITLE_BONUS + min(best.candidate.rank, 1.0) * 0.1
    assert best.candidate.score == pytest.approx(expected, abs=1e-6)


def test_the_answering_engine_compares_the_best_with_the_next_one(corpus):  # noqa: F811
    article("restore-files", title_en="Restoring files from a backup", body_en="Open Backups, choose the files.")
    answer = selectors.answer(user=AnonymousUser(), question="restore from a backup", language="en", limit=1)
    assert len(answer.hits) == 1
    # Two articles cover the question about as well: the confidence is lowered below the coverage.
    ranked, _total = search.ranked(search.analyse_best("restore from a backup", "en"), visibilities=["public"], limit=2)
    assert len(ranked) == 2
    assert answer.hits[0].confidence < round(ranked[0].candidate.coverage, 3)
