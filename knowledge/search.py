"""Search of the help centre, and the answering engine's scores. Reads only.

A query is read chunk by chunk (knowledge.text): as typed, in the other keyboard layout, as
transliterated Russian; each reading's words are normalised by PostgreSQL itself
(`phraseto_tsquery` under the language's configuration: Snowball stems, stop words), and the
reading the help centre's vocabulary knows best wins. Words no article has are corrected to
the nearest word it has (knowledge.vocabulary); error codes stay exact phrases.

PostgreSQL then finds the articles matching any of the terms through the GIN index of the
generated `search_<language>` column and ranks them with `ts_rank` (title weight A, text B);
the best 40 are scored here on how much of the question they cover: each term weighs its
inverse document frequency, counts fully in a title and about half in the text, and a term
no article has still weighs in the total. That coverage is what the answering engine's
confidence is made of, so a question about something the help centre does not cover gets a
low one and the bot says "don't know".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from knowledge import text
from knowledge.models import SEARCH_CONFIGS, Article, HelpCategory, other_language
from knowledge.vocabulary import Vocabulary, vocabulary

QUERY_MAX = 200
CANDIDATES = 40
# A term in at most this many articles brings the articles whose text has it into the candidates.
RARE_DOCUMENTS = 200
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
# How a term counts: in the title, or only in the text.
TITLE_MATCH = 1.0
BODY_MATCH = 0.55
# Error codes are rare and decisive; unknown ones weigh as much against an article as known ones for it.
CODE_BOOST = 2.0
# Private-use characters as ts_headline's markers: no article text contains them.
_MARK_START, _MARK_END = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f'StartSel={_MARK_START}, StopSel={_MARK_END}, MaxWords=28, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
)
# The ticket form's suggestions: one short fragment each.
SHORT_HEADLINE_OPTIONS = f"StartSel={_MARK_START}, StopSel={_MARK_END}, MaxWords=18, MinWords=8, MaxFragments=1"
_QUOTED = re.compile(r"'((?:[^']|'')*)'(:\*)?")

# Russian stems at least this long also match as prefixes (see _stem_query).
STEM_PREFIX_MIN = 5
# Two of the question's words side by side in an article (`name servers`) count this much more.
PHRASE_TITLE_BONUS = 0.12
PHRASE_BODY_BONUS = 0.06
# Reading costs: a typed word the vocabulary knows costs nothing, a corrected one its edits, an
# unknown one a lot; a reading other than the typed one costs a little, so it wins only when
# the typed one is not understood.
UNKNOWN_COST = 3.0
OTHER_READING_COST = 0.5


@dataclass
class Term:
    """One thing the question asks about: a word (perhaps corrected) or an error code."""

    typed: str
    query: str  # tsquery text under the language's configuration; "" for a stop word
    weight: float
    known: bool
    code: bool = False
    corrected: str = ""
    prefix: bool = False

    @property
    def title_query(self) -> str:
        """The same query, matched only in titles (weight A)."""
        return _QUOTED.sub(lambda m: f"'{m.group(1)}':{'*' if m.group(2) else ''}A", self.query)


@dataclass
class Analysis:
    language: str
    terms: list[Term] = field(default_factory=list)
    read_as: str = ""  # the question as understood, when that differs from what was typed
    vocabulary: Vocabulary | None = None

    @property
    def searchable(self) -> list[Term]:
        return [term for term in self.terms if term.known and term.query]

    @property
    def total_weight(self) -> float:
        return sum(term.weight for term in self.terms if term.query or not term.known)

    @property
    def understood(self) -> float:
        """The share of the question's weight the vocabulary knows."""
        total = self.total_weight
        return sum(term.weight for term in self.searchable) / total if total else 0.0


@dataclass
class Candidate:
    article_id: int
    rank: float
    coverage: float
    score: float


def _normalise(words: list[str]) -> tuple[dict[str, dict[str, str]], int | None]:
    """Each word (or code) as PostgreSQL normalises it under each language's configuration (its
    tsquery text, "" for a stop word), and the articles' version, in one round trip."""
    if not words:
        return {}, None
    configs = list(SEARCH_CONFIGS.items())
    columns = ", ".join(f"phraseto_tsquery('{config}'::regconfig, w)::text" for _lang, config in configs)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT w, {columns}, (SELECT version FROM knowledge_searchindexstate WHERE id = 1) "  # noqa: S608
            "FROM unnest(%s::text[]) AS w",
            [words],
        )
        rows = cursor.fetchall()
    normalised = {lang: {} for lang, _config in configs}  # type: dict[str, dict[str, str]]
    version = None
    for row in rows:
        for index, (lang, _config) in enumerate(configs):
            normalised[lang][row[0]] = row[1 + index]
        version = row[-1] or 0
    return normalised, version


def _lexemes(query: str) -> list[str]:
    return [m.group(1).replace("''", "'") for m in _QUOTED.finditer(query)]


def _stem_query(query: str, vocab: Vocabulary) -> str:
    """In Russian, a stem also matches the longer stems it begins: the Snowball stemmer leaves
    the verb and the noun of one word apart (`перезагруз` for перезагрузить, `перезагрузк` for
    перезагрузка; `восстанов` and `восстановлен`), and a customer writes one where the guide has
    the other. Short stems stay exact: they would begin too many others."""
    if vocab.language != "ru":
        return query
    lexemes = _lexemes(query)
    if len(lexemes) != 1 or len(lexemes[0]) < STEM_PREFIX_MIN or not query.startswith("'") or ":" in query:
        return query
    return query + ":*"


def _word_term(
    word: str, query: str, vocab: Vocabulary, *, is_last: bool, prefix: bool, staff: bool
) -> tuple[float, Term | None]:
    """The term a word makes, and what reading it this way costs."""
    if not query:
        return 0.0, None  # a stop word
    lexemes = _lexemes(query)
    if lexemes and all(vocab.knows(lexeme) for lexeme in lexemes):
        return 0.0, Term(word, _stem_query(query, vocab), max(vocab.idf(lex) for lex in lexemes), known=True)
    if prefix and is_last and len(word) >= 3 and vocab.has_prefix(word):
        # Typed so far: the start of a word the help centre has.
        return 0.0, Term(word, f"'{word}':*", vocab.prefix_idf(word), known=True, prefix=True)
    correction = vocab.correct(word, public_only=not staff)
    if correction is not None:
        corrected, edits = correction
        lexeme = vocab.words[corrected][1]
        query = _stem_query("'" + lexeme.replace("'", "''") + "'", vocab)
        term = Term(word, query, vocab.idf(lexeme), known=True, corrected=corrected)
        return float(edits), term
    return UNKNOWN_COST, Term(word, query, vocab.idf(""), known=False)


def _words_of(chunks: list[text.Chunk]) -> list[str]:
    every = {code for chunk in chunks for code in chunk.codes}
    every |= {word for chunk in chunks for word in chunk.words}
    every |= {word for chunk in chunks for _how, words in chunk.readings for word in words}
    return sorted(every)


def analyse(query: str, language: str, *, prefix: bool = False, staff: bool = False) -> Analysis:
    """What a question asks about in `language`'s articles (`staff`: the reader sees internal ones)."""
    query = query[:QUERY_MAX]
    chunks = text.chunks(query)
    normalised, version = _normalise(_words_of(chunks))
    return _analyse(query, chunks, language, normalised.get(language, {}), version, prefix=prefix, staff=staff)


def _analyse(
    query: str,
    chunks: list[text.Chunk],
    language: str,
    normalised: dict[str, str],
    version: int | None,
    *,
    prefix: bool,
    staff: bool,
) -> Analysis:
    analysis = Analysis(language=language)
    if not normalised:
        return analysis
    vocab = vocabulary(language, version=version)
    analysis.vocabulary = vocab
    typing_last = prefix and bool(query) and not query[-1].isspace()
    read_as = []
    for position, chunk in enumerate(chunks):
        is_last = typing_last and position == len(chunks) - 1
        for code in chunk.codes:
            code_query = normalised.get(code, "")
            if not code_query:
                continue
            lexemes = _lexemes(code_query)
            known = bool(lexemes) and all(vocab.knows(lexeme) for lexeme in lexemes)
            weight = CODE_BOOST * max(vocab.idf(lexeme) for lexeme in lexemes)
            analysis.terms.append(Term(code, code_query, weight, known=known, code=True))
        best: tuple[float, list[Term], list[str]] | None = None
        readings = [("typed", chunk.words), *chunk.readings] if chunk.words else chunk.readings
        for how, words in readings:
            cost = 0.0 if how == "typed" else OTHER_READING_COST
            terms, shown = [], []
            for index, word in enumerate(words):
                word_cost, term = _word_term(
                    word,
                    normalised.get(word, ""),
                    vocab,
                    is_last=is_last and index == len(words) - 1,
                    prefix=prefix,
                    staff=staff,
                )
                cost += word_cost
                shown.append(term.corrected if term is not None and term.corrected else word)
                if term is not None:
                    terms.append(term)
            if best is None or cost < best[0]:
                best = (cost, terms, shown)
        if best is not None:
            analysis.terms.extend(best[1])
            read_as.extend(best[2])
        read_as.extend(chunk.codes)
    seen: set[str] = set()
    unique = []
    for term in analysis.terms:
        key = term.query if term.known else f"?{term.typed}"
        if key not in seen:
            seen.add(key)
            unique.append(term)
    analysis.terms = unique
    understood = " ".join(read_as)
    if understood.lower() != " ".join(text.words(query)).lower() and analysis.searchable:
        analysis.read_as = understood
    return analysis


def analyse_best(query: str, language: str, *, prefix: bool = False, staff: bool = False) -> Analysis:
    """The question read in the reader's language, or in the other one when that one understands
    it clearly better (Russian typed on an English page, and the other way round)."""
    query = query[:QUERY_MAX]
    chunks = text.chunks(query)
    normalised, version = _normalise(_words_of(chunks))
    own = _analyse(query, chunks, language, normalised.get(language, {}), version, prefix=prefix, staff=staff)
    if own.understood >= 0.99 or not own.terms:
        return own
    other_lang = other_language(language)
    other = _analyse(query, chunks, other_lang, normalised.get(other_lang, {}), version, prefix=prefix, staff=staff)
    return other if other.understood > own.understood + 0.25 else own


def _visible_sql(language: str, visibilities: list[str]) -> tuple[str, list]:
    return (
        f"a.status = %s AND a.visibility = ANY(%s) AND a.title_{language} <> ''",
        [Article.Status.PUBLISHED, visibilities],
    )


@dataclass
class Ranked:
    """One of the best articles: its score, the article (its list fields and its section) and
    the highlighted snippet (None when not asked for, or beyond the articles shown)."""

    candidate: Candidate
    article: Article
    snippet: str | None


# What a list of articles needs; the texts and search vectors stay in the database.
LIST_DEFERRED = (
    "body_en", "body_ru", "plain_en", "plain_ru", "search_en", "search_ru", "title_search_en", "title_search_ru",
)  # fmt: skip


# What a term (or a phrase) adds: its first value when the title matches, else its second when the text does.
_IN_TITLE_OR_TEXT = "CASE WHEN s.v @@ %s::tsquery THEN %s::float8 WHEN s.v @@ %s::tsquery THEN %s::float8 ELSE 0.0 END"


def _list_fields(model, deferred=()) -> list:
    return [f for f in model._meta.concrete_fields if f.attname not in deferred]


def ranked(
    analysis: Analysis,
    *,
    visibilities: list[str],
    limit: int,
    favour_ticket_category: str = "",
    exclude: list[int] | None = None,
    relative_cutoff: float = 0.0,
    snippets: bool = True,
    short_snippets: bool = False,
) -> tuple[list[Ranked], int]:
    """The best articles for an analysed question, best first, with the number of candidates;
    one statement (one round trip) finds, scores, orders and reads them.

    Candidates: two sets, each found through a GIN index and bounded: the articles whose title
    matches any term, ranked by the small title vector; and those whose text has one of the
    question's rare terms (in at most RARE_DOCUMENTS articles), ranked by the whole vector.
    Ranking every article a common word matches would read thousands of large vectors back from
    TOAST. The union, at most 2 x CANDIDATES articles, is checked term by term and scored on its
    coverage of the question (each term's weight, fully in a title, BODY_MATCH in the text, over
    the question's whole weight), the phrase bonuses, `ts_rank` and the favoured sections; those
    below `relative_cutoff` of the best are left out. The best `limit` are read with their
    section and snippet (the snippet's `ts_headline` runs for them alone), and one more, whose
    score the answering engine's confidence compares the best with."""
    terms = analysis.searchable
    if not terms:
        return [], 0
    language = analysis.language
    vocab = analysis.vocabulary or vocabulary(language)
    rare = [
        t
        for t in terms
        if not t.prefix and max(vocab.lexemes.get(lexeme, 0) for lexeme in _lexemes(t.query)) <= RARE_DOCUMENTS
    ]
    everything = " | ".join(f"({t.query})" for t in terms)
    column, titles = f"search_{language}", f"title_search_{language}"
    visible, visible_params = _visible_sql(language, visibilities)
    if exclude:
        visible += " AND NOT (a.id = ANY(%s))"
        visible_params = [*visible_params, exclude]
    params: list = [everything, *visible_params]
    rare_part = ""
    if rare:
        rare_part = f"""
            UNION
            (SELECT a.id FROM knowledge_article a, CAST(%s AS tsquery) q
             WHERE {visible} AND a.{column} @@ q
             ORDER BY ts_rank('{RANK_WEIGHTS}', a.{column}, q) DESC LIMIT {CANDIDATES})"""  # noqa: S608
        params += [" | ".join(f"({t.query})" for t in rare), *visible_params]
    params.append(everything)
    # Each term counts fully in a title, less in the text; the sums run in the terms' order, as floats.
    covered = ["0.0::float8"]
    for t in terms:
        covered.append(
            "CASE WHEN s.v @@ %s::tsquery THEN %s::float8 WHEN s.v @@ %s::tsquery THEN %s::float8 ELSE 0.0 END"
        )
        params += [t.title_query, t.weight * TITLE_MATCH, t.query, t.weight * BODY_MATCH]
    # Neighbouring words of the question, as phrases: "name servers" is more than "name" and "servers".
    words = [t for t in terms if not t.code]
    bonus = ["0.0::float8"]
    for a, b in zip(words, words[1:], strict=False):
        bonus.append(
            "CASE WHEN s.v @@ %s::tsquery THEN %s::float8 WHEN s.v @@ %s::tsquery THEN %s::float8 ELSE 0.0 END"
        )
        params += [f"({a.title_query}) <-> ({b.title_query})", PHRASE_TITLE_BONUS]
        params += [f"({a.query}) <-> ({b.query})", PHRASE_BODY_BONUS]
    total = analysis.total_weight
    coverage = "covered / %s::float8" if total else "0.0::float8"
    params += [total] * 2 if total else []
    favoured = "FALSE"
    if favour_ticket_category:
        favoured = "category_id IN (SELECT c.id FROM knowledge_helpcategory c WHERE c.ticket_category = %s)"
        params.append(favour_ticket_category)
    params.append(relative_cutoff)
    article_fields = _list_fields(Article, LIST_DEFERRED)
    category_fields = _list_fields(HelpCategory)
    snippet = "NULL"
    if snippets:
        snippet_sql, snippet_params = headline_sql(analysis, short=short_snippets, table="a.")
        snippet = f"CASE WHEN l.position <= %s THEN {snippet_sql} END"
        params += [limit, *snippet_params]
    params.append(max(limit, 2))
    sql = f"""
        WITH found AS (
            (SELECT a.id FROM knowledge_article a, CAST(%s AS tsquery) q
             WHERE {visible} AND a.{titles} @@ q
             ORDER BY ts_rank('{RANK_WEIGHTS}', a.{titles}, q) DESC LIMIT {CANDIDATES})
            {rare_part}
        ),
        checked AS (
            SELECT s.id, s.category_id, ts_rank('{RANK_WEIGHTS}', s.v, CAST(%s AS tsquery))::float8 AS rank,
                   {" + ".join(covered)} AS covered, {" + ".join(bonus)} AS bonus
            FROM (
                -- Read each vector back from TOAST once, not once per check (OFFSET 0 keeps it a subquery).
                SELECT a.id, a.category_id, a.{column} || ''::tsvector AS v
                FROM found JOIN knowledge_article a ON a.id = found.id
                OFFSET 0
            ) s
        ),
        scored AS (
            SELECT id, rank, {coverage} AS coverage,
                   {coverage} + bonus + LEAST(rank, 1.0::float8) * 0.1::float8
                   + CASE WHEN {favoured} THEN 0.08::float8 ELSE 0.0::float8 END AS score
            FROM checked WHERE covered > 0
        ),
        kept AS (
            SELECT *, max(score) OVER () AS best FROM scored
        ),
        listed AS (
            SELECT id, rank, coverage, score, count(*) OVER () AS total,
                   row_number() OVER (ORDER BY score DESC, rank DESC, id) AS position
            FROM kept WHERE score >= %s * best
        )
        SELECT l.total, l.rank, l.coverage, l.score, {snippet},
               {", ".join(f"a.{f.column}" for f in article_fields)},
               {", ".join(f"c.{f.column}" for f in category_fields)}
        FROM listed l
        JOIN knowledge_article a ON a.id = l.id
        JOIN knowledge_helpcategory c ON c.id = a.category_id
        WHERE l.position <= %s
        ORDER BY l.position
    """  # noqa: S608 - only column names, constants and placeholders are formatted in
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found, count = [], 0
    article_names = [f.attname for f in article_fields]
    category_names = [f.attname for f in category_fields]
    for row in rows:
        count, rank, cov, score, text_snippet = row[:5]
        values = row[5:]
        article = Article.from_db(connection.alias, article_names, values[: len(article_fields)])
        article.category = HelpCategory.from_db(connection.alias, category_names, values[len(article_fields) :])
        found.append(Ranked(Candidate(article.pk, rank, cov, score), article, text_snippet))
    return found, count


def headline_sql(analysis: Analysis, *, short: bool = False, table: str = "") -> tuple[str, list]:
    """An SQL expression (with its parameters) for the highlighted snippet of an article's text
    for the question (`<mark>` around matches, once passed through `marked`)."""
    query = " | ".join(f"({t.query})" for t in analysis.searchable) or "''"
    language = analysis.language
    return (
        f"ts_headline(%s::regconfig, {table}plain_{language}, CAST(%s AS tsquery), %s)",
        [SEARCH_CONFIGS[language], query, SHORT_HEADLINE_OPTIONS if short else HEADLINE_OPTIONS],
    )


def marked(snippet: str) -> SafeString:
    # The article's text is escaped first; only our own markers become tags.
    html = escape(" ".join(snippet.split()))
    html = html.replace(_MARK_START, "<mark>").replace(_MARK_END, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above, the only tags are ours
