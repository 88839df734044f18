"""The help centre's query text, before PostgreSQL sees it: words and error codes, the other
keyboard layout, Russian typed in Latin letters. Pure functions, no database.

Customers paste error messages (`AH00072`, `SQLSTATE[HY000] [1045]`,
`ERR_CONNECTION_TIMED_OUT`), type Russian with the English layout on (`djccnfyjdbnm` for
`восстановить`) or in Latin letters (`kak nastroit pochtu`). Each whitespace-separated chunk of a
query gets its readings here; knowledge.search keeps the ones the help centre's vocabulary knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.html import strip_tags

# The same key on the two layouts of a Russian keyboard (ЙЦУКЕН over QWERTY).
_LATIN_KEYS = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./" + '~QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>?'
_CYRILLIC_KEYS = "ёйцукенгшщзхъфывапролджэячсмитьбю." + "ЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ,"
TO_CYRILLIC_LAYOUT = str.maketrans(_LATIN_KEYS, _CYRILLIC_KEYS)
TO_LATIN_LAYOUT = str.maketrans(_CYRILLIC_KEYS, _LATIN_KEYS)

# Latin transliteration of Russian as people type it (GOST-like, with the usual variants),
# longest first. The result is approximate on purpose: the vocabulary corrects it.
_TRANSLIT = [
    ("shch", "щ"), ("sch", "щ"), ("yo", "ё"), ("jo", "ё"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("tz", "ц"),
    ("ch", "ч"), ("sh", "ш"), ("yu", "ю"), ("ju", "ю"), ("ya", "я"), ("ja", "я"), ("ye", "е"), ("iy", "ий"),
    ("yy", "ый"), ("ij", "ий"), ("'", "ь"), ("a", "а"), ("b", "б"), ("v", "в"), ("w", "в"), ("g", "г"),
    ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"),
    ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "ц"),
    ("q", "к"), ("x", "кс"), ("y", "ы"),
]  # fmt: skip
_TRANSLIT_RE = re.compile("|".join(re.escape(latin) for latin, _cyr in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
LATIN_RE = re.compile(r"^[a-z]+$")
CYRILLIC_RE = re.compile(r"^[а-яё]+$")
# What a pasted error looks like: letters with digits (AH00072, HY000, 0x80070005, 1045, 502),
# or capitals joined by underscores (ERR_CONNECTION_TIMED_OUT, SSL_ERROR_BAD_CERT_DOMAIN).
CODE_RE = re.compile(r"(?:[A-Za-z]+_)*[A-Za-z]*\d[\w]*|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# Chunks to read in the other layout may carry the punctuation keys that are letters there.
_LAYOUT_CHUNK_RE = re.compile(r"^[a-z`\[\];',./]+$")


@dataclass
class Chunk:
    """A whitespace-separated piece of the query and its readings, each a list of words."""

    raw: str
    codes: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    # Other readings of the whole chunk: (how it was read, its words).
    readings: list[tuple[str, list[str]]] = field(default_factory=list)


def words(text: str) -> list[str]:
    """The lowercase words of a text, as PostgreSQL's parser would roughly split them."""
    return WORD_RE.findall(text.lower())


def swap_layout(text: str) -> str:
    """Text typed with the wrong layout on, read with the other one."""
    if re.search(r"[a-zA-Z]", text) and not re.search(r"[а-яА-ЯёЁ]", text):
        return text.translate(TO_CYRILLIC_LAYOUT)
    return text.translate(TO_LATIN_LAYOUT)


def transliterate(word: str) -> str:
    """Russian written in Latin letters, back in Cyrillic (roughly: the vocabulary corrects it)."""
    return _TRANSLIT_RE.sub(lambda match: _TRANSLIT_MAP[match.group(0)], word.lower())


def codes(text: str) -> list[str]:
    """Error codes in a text, as written: AH00072, HY000, 1045, ERR_CONNECTION_TIMED_OUT."""
    found = []
    for match in CODE_RE.finditer(text):
        code = match.group(0).strip("_")
        # A bare one- or two-digit number is a count, not a code.
        if code and not (code.isdigit() and len(code) < 3) and code not in found:
            found.append(code)
    return found


def chunks(query: str) -> list[Chunk]:
    """The query's pieces with their codes, their words and their other readings."""
    result = []
    for raw in query.split():
        chunk = Chunk(raw=raw, codes=codes(raw))
        # The words outside the codes: `SQLSTATE[HY000]` leaves `sqlstate`, `ERR_CONNECTION_TIMED_OUT` nothing.
        rest = raw
        for code in chunk.codes:
            rest = rest.replace(code, " ")
        chunk.words = words(rest)
        lower = raw.lower()
        stripped = lower.rstrip(",.;:!?")
        # Wrong layout: a Latin chunk (with the keys of б, ю, ж, э, х, ъ) read as Cyrillic, and back.
        for candidate in dict.fromkeys((lower, stripped)):
            if candidate and _LAYOUT_CHUNK_RE.match(candidate):
                swapped = words(candidate.translate(TO_CYRILLIC_LAYOUT))
                if swapped:
                    chunk.readings.append(("layout", swapped))
        if chunk.words and all(CYRILLIC_RE.match(w) for w in chunk.words):
            chunk.readings.append(("layout", words(lower.translate(TO_LATIN_LAYOUT))))
        if chunk.words and all(LATIN_RE.match(w) for w in chunk.words):
            chunk.readings.append(("translit", [transliterate(w) for w in chunk.words]))
        result.append(chunk)
    return result


def plain_text(html: str) -> str:
    """Rendered Markdown as plain text, for the search vectors and the snippets."""
    text = re.sub(r"<(br|/p|/li|/h\d|/tr|/pre|/blockquote)>", "\n", html)
    text = strip_tags(text)
    # strip_tags leaves the entities the Markdown renderer wrote.
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&#x27;", "'")
    text = text.replace("&amp;", "&")
    return re.sub(r"\n{3,}", "\n\n", text).strip()
