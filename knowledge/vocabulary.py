"""The help centre's own words, per language: what a query's typos are corrected against.

Built from the published articles with PostgreSQL's `ts_stat` (each word, in how many
articles it appears, and its lexeme under the language's text-search configuration), kept in
the process, and rebuilt when `SearchIndexState.version` moves, which every write to articles
raises (knowledge.services). Fuzzy matching is RapidFuzz's optimal-string-alignment distance
(Levenshtein with transpositions) over the words of similar length: the embedded PostgreSQL
has no `pg_trgm`, and a vocabulary of the help centre's own words cannot "correct" a customer
towards words no article uses.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import DatabaseError, connection
from rapidfuzz import process
from rapidfuzz.distance import OSA

from knowledge.models import SEARCH_CONFIGS, Article, SearchIndexState

logger = logging.getLogger(__name__)
_LETTERS = re.compile(r"^[^\W\d_]{2,}$")
_LEXEME = re.compile(r"'((?:[^']|'')*)'")


def max_edits(word: str) -> int:
    """How many typos a word of this length may carry and still be corrected: none in short
    words (`dns`, `cost`), where one edit makes another word."""
    if len(word) <= 4:
        return 0
    return 1 if len(word) <= 7 else 2


@dataclass
class Vocabulary:
    language: str
    version: int
    documents: int = 0
    # word -> (articles it is in, its lexeme; "" for a stop word)
    words: dict[str, tuple[int, str]] = field(default_factory=dict)
    # lexeme -> articles it is in (title or text)
    lexemes: dict[str, int] = field(default_factory=dict)
    by_length: dict[int, list[str]] = field(default_factory=dict)
    sorted_words: list[str] = field(default_factory=list)
    # The words of the public articles: a customer's typo is never corrected towards a word
    # that only internal articles use.
    public: set[str] = field(default_factory=set)
    build_seconds: float = 0.0

    def knows(self, lexeme: str) -> bool:
        return lexeme in self.lexemes

    def idf(self, lexeme: str) -> float:
        """Rarer words say more; a word no article has counts as the rarest."""
        frequency = self.lexemes.get(lexeme, 0)
        return math.log((self.documents + 1) / (frequency + 0.5)) + 1.0

    def has_prefix(self, prefix: str) -> bool:
        index = bisect.bisect_left(self.sorted_words, prefix)
        return index < len(self.sorted_words) and self.sorted_words[index].startswith(prefix)

    def prefix_idf(self, prefix: str) -> float:
        """The weight of a word still being typed: that of the first word it may become."""
        index = bisect.bisect_left(self.sorted_words, prefix)
        if index < len(self.sorted_words) and self.sorted_words[index].startswith(prefix):
            return self.idf(self.words[self.sorted_words[index]][1])
        return self.idf("")

    def correct(self, word: str, *, public_only: bool = True) -> tuple[str, int] | None:
        """The help centre's word closest to `word` (fewest edits, then the most common), or None."""
        limit = max_edits(word)
        if not limit:
            return None
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            candidates = self.by_length.get(length)
            if not candidates:
                continue
            for candidate, distance, _index in process.extract(
                word, candidates, scorer=OSA.distance, score_cutoff=limit, limit=8
            ):
                frequency, lexeme = self.words[candidate]
                if not lexeme or (public_only and candidate not in self.public):
                    continue  # never towards a stop word, nor a word the reader may not see
                if candidate[0] != word[0] and len(word) < 8:
                    # The first letter is rarely the typo: in a short word, changing it makes
                    # another word (`зайти` is not a misspelt `найти`).
                    continue
                key = (int(distance) * 2 + (candidate[0] != word[0]), -frequency, candidate)
                if best is None or key < best:
                    best = key
        if best is None:
            return None
        return best[2], best[0] // 2


_lock = threading.Lock()
_cache: dict[str, Vocabulary] = {}
_rebuilding: set[tuple[str, int]] = set()
# A vocabulary that took longer than this to build is rebuilt in the background after a change,
# the previous one serving meanwhile; a small help centre's is rebuilt at once.
BACKGROUND_AFTER_SECONDS = 0.5
SHARED_TIMEOUT = 7 * 24 * 3600


def current_version() -> int:
    return SearchIndexState.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def _shared_key(language: str, version: int) -> str:
    return f"knowledge:vocabulary:{language}:{version}"


def vocabulary(language: str, *, version: int | None = None) -> Vocabulary:
    """The vocabulary of `language`, rebuilt when the articles changed since it was built.
    `version`: the articles' version when the caller has just read it.

    Built once per version for all processes: the first to need it builds it and leaves it in
    the shared cache, the others take it from there. A large help centre's vocabulary (seconds
    to build) is rebuilt in a thread while the previous one keeps serving, so an edit never
    stalls a search; the typo corrections are a few seconds behind the articles meanwhile."""
    if version is None:
        version = current_version()
    known = _cache.get(language)
    if known is not None and known.version == version:
        return known
    shared = cache.get(_shared_key(language, version))
    if isinstance(shared, Vocabulary):
        _cache[language] = shared
        return shared
    if known is not None and known.build_seconds > BACKGROUND_AFTER_SECONDS:
        _rebuild_in_background(language, version)
        return known
    with _lock:
        known = _cache.get(language)
        if known is None or known.version != version:
            known = _build_and_share(language, version)
    return known


def _build_and_share(language: str, version: int) -> Vocabulary:
    built = build(language, version)
    _cache[language] = built
    cache.set(_shared_key(language, version), built, SHARED_TIMEOUT)
    return built


def _rebuild_in_background(language: str, version: int) -> None:
    with _lock:
        if (language, version) in _rebuilding:
            return
        _rebuilding.add((language, version))

    def rebuild() -> None:
        try:
            _build_and_share(language, version)
        except DatabaseError:
            logger.exception("The %s vocabulary of version %s could not be built", language, version)
        finally:
            connection.close()  # this thread's own connection
            with _lock:
                _rebuilding.discard((language, version))

    threading.Thread(target=rebuild, name=f"vocabulary-{language}", daemon=True).start()


def build(language: str, version: int) -> Vocabulary:
    config = SEARCH_CONFIGS[language]
    # The statements ts_stat runs are written here, not taken from input: only constants.
    started = time.monotonic()
    published = f"status = '{Article.Status.PUBLISHED}' AND title_{language} <> ''"
    internal = f"{published} AND visibility <> '{Article.Visibility.PUBLIC}'"
    words = f"to_tsvector('simple', title_{language} || ' ' || plain_{language})"
    texts = f"SELECT {words} FROM knowledge_article WHERE {published}"  # noqa: S608 - constants only
    # The few internal articles, not the many public ones, are read a second time.
    internal_texts = f"SELECT {words} FROM knowledge_article WHERE {internal}"  # noqa: S608 - constants only
    vectors = f"SELECT search_{language} FROM knowledge_article WHERE {published}"  # noqa: S608 - constants only
    result = Vocabulary(language=language, version=version)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM knowledge_article WHERE {published}")  # noqa: S608 - constants only
        result.documents = cursor.fetchone()[0]
        cursor.execute("SELECT word, ndoc FROM ts_stat(%s)", [vectors])
        result.lexemes = dict(cursor.fetchall())
        cursor.execute("SELECT word, ndoc, to_tsvector(%s::regconfig, word)::text FROM ts_stat(%s)", [config, texts])
        rows = cursor.fetchall()
        cursor.execute("SELECT word, ndoc FROM ts_stat(%s)", [internal_texts])
        internal_only = dict(cursor.fetchall())
    by_length: dict[int, list[str]] = defaultdict(list)
    for word, frequency, vector in rows:
        if not _LETTERS.match(word):
            continue
        match = _LEXEME.search(vector)
        result.words[word] = (frequency, match.group(1).replace("''", "'") if match else "")
        by_length[len(word)].append(word)
    # A word is public unless every article it is in is internal.
    result.public = {
        word for word, (frequency, _lexeme) in result.words.items() if internal_only.get(word) != frequency
    }
    result.by_length = dict(by_length)
    result.sorted_words = sorted(result.words)
    result.build_seconds = time.monotonic() - started
    return result


def forget() -> None:
    """Drop the vocabularies of this process (the benchmark times a build with it)."""
    with _lock:
        _cache.clear()
