"""The vocabulary: built once per version for all processes, and for a large help centre
rebuilt in the background while the previous one serves."""

import pytest

from knowledge import vocabulary
from knowledge.models import Article
from knowledge.tests.factories import article

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh():
    vocabulary.forget()
    yield
    vocabulary.forget()


def test_a_built_vocabulary_is_shared_through_the_cache(monkeypatch):
    article("mail-setup", title_en="Setting up mail in Outlook", body_en="IMAP on port 993.")
    built = vocabulary.vocabulary("en")
    assert "outlook" in built.words and built.public >= {"outlook", "imap"}
    vocabulary.forget()  # another process: nothing in its memory

    def must_not_build(*args):
        raise AssertionError("built again")

    monkeypatch.setattr(vocabulary, "build", must_not_build)
    assert vocabulary.vocabulary("en").words == built.words


def test_a_slow_vocabulary_keeps_serving_while_it_is_rebuilt(monkeypatch):
    article("mail-setup", title_en="Setting up mail in Outlook", body_en="IMAP on port 993.")
    old = vocabulary.vocabulary("en")
    old.build_seconds = 10.0  # as a large help centre's would
    requested = []
    monkeypatch.setattr(vocabulary, "_rebuild_in_background", lambda *args: requested.append(args))
    article("ssh", title_en="Connecting over SSH", body_en="Use a key.")
    assert vocabulary.vocabulary("en") is old
    assert requested == [("en", vocabulary.current_version())]
    old.build_seconds = 0.0  # a small one is rebuilt at once
    assert "ssh" in vocabulary.vocabulary("en").words


def test_internal_words_are_known_but_not_public():
    article("ipmi", visibility=Article.Visibility.INTERNAL, title_en="Baseboard controller", body_en="Reset it.")
    article("mail", title_en="Mail in Outlook", body_en="Reset the password.")
    built = vocabulary.vocabulary("en")
    assert "baseboard" in built.words and "baseboard" not in built.public
    assert "reset" in built.public
