"""Durations, sizes, weights and commitments in the words of the reader's language."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import translation

from sla.display import commitment_text
from tickets.templatetags.tickets_tags import duration_short, filesize, weight_label


def in_language(language, function, *args):
    with translation.override(language):
        return str(function(*args))


@pytest.mark.parametrize(
    ("minutes", "english", "russian"),
    [
        (12, "12 min", "12 мин"),
        (185, "3 h 5 min", "3 ч 5 мин"),
        (3 * 1440 + 120, "3 d 2 h", "3 д 2 ч"),
    ],
)
def test_durations(minutes, english, russian):
    delta = dt.timedelta(minutes=minutes)
    assert in_language("en", duration_short, delta) == english
    assert in_language("ru", duration_short, delta) == russian


@pytest.mark.parametrize(
    ("size", "english", "russian"),
    [(512, "512 B", "512 Б"), (2560, "2.5 KB", "2,5 КБ"), (3 * 1024**2, "3.0 MB", "3,0 МБ")],
)
def test_file_sizes(size, english, russian):
    assert in_language("en", filesize, size) == english
    assert in_language("ru", filesize, size) == russian


def test_weight_parts_have_names_in_both_languages():
    assert in_language("en", weight_label, "tenure") == "years with us"
    assert in_language("ru", weight_label, "tenure") == "стаж клиента"
    assert in_language("ru", weight_label, "boost") == "платное продвижение"
    assert in_language("ru", weight_label, "something-new") == "something-new"


def commitment(minutes):
    return SimpleNamespace(sla_commitment={"first_response": minutes, "limited": False, "calendar_24x7": True})


@pytest.mark.parametrize(
    ("minutes", "english", "russian"),
    [
        (1, "1 minute", "1 минута"),
        (3, "3 minutes", "3 минуты"),
        (30, "30 minutes", "30 минут"),
        (90, "90 minutes", "90 минут"),
        (120, "2 hours", "2 часа"),
        (300, "5 hours", "5 часов"),
        (1260, "21 hours", "21 час"),
    ],
)
def test_the_commitment_counts_in_the_readers_grammar(minutes, english, russian):
    assert english in in_language("en", commitment_text, commitment(minutes))
    assert russian in in_language("ru", commitment_text, commitment(minutes))
