"""Content terms: lower-cased, stop-word-free, Snowball-stemmed words (shared by index and questions)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from spacy.lang.en.stop_words import STOP_WORDS

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_NUMBER_WORDS = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "forty", "fifty", "sixty", "hundred", "first", "third", "fifth",
}
_STOP = (frozenset(STOPWORDS_EN) | frozenset(STOP_WORDS) | {"s", "said", "says", "mr", "mrs"}) - _NUMBER_WORDS


# English irregular verb forms and demonyms (lexicon/demonyms.tsv), folded to one term before stemming so that
# "fell"/"fallen"/"fall" and "French"/"France" match (a general English table, not corpus facts).
_IRREGULAR = {
    form: base
    for base, forms in {
        "begin": "began begun", "break": "broke broken", "bring": "brought", "build": "built",
        "buy": "bought", "catch": "caught", "choose": "chose chosen", "come": "came",
        "do": "did done", "draw": "drew drawn", "drive": "drove driven", "eat": "ate eaten",
        "fall": "fell fallen", "feel": "felt", "fight": "fought", "find": "found", "flee": "fled",
        "fly": "flew flown", "forbid": "forbade forbidden", "get": "got gotten",
        "give": "gave given", "go": "went gone", "grow": "grew grown", "hold": "held",
        "keep": "kept", "know": "knew known", "lead": "led", "leave": "left", "lose": "lost",
        "make": "made", "mean": "meant", "meet": "met", "pay": "paid", "ride": "rode ridden",
        "rise": "rose risen", "run": "ran", "say": "said", "see": "saw seen", "seek": "sought",
        "sell": "sold", "send": "sent", "shake": "shook shaken", "shoot": "shot",
        "sink": "sank sunk", "speak": "spoke spoken", "spend": "spent", "stand": "stood",
        "steal": "stole stolen", "strike": "struck stricken", "swear": "swore sworn",
        "take": "took taken", "teach": "taught", "tell": "told", "think": "thought",
        "throw": "threw thrown", "understand": "understood", "win": "won",
        "withdraw": "withdrew withdrawn", "write": "wrote written", "be": "was were been",
        "have": "had has", "overtake": "overtook overtaken", "undertake": "undertook undertaken",
    }.items()
    for form in forms.split()
}
_LEXICON = Path(__file__).resolve().parent / "lexicon"


def _read_table(name: str) -> dict[str, str]:
    """A two-column table (tab-separated, "#" comments) from the lexicon folder."""
    rows = (line.split("\t") for line in (_LEXICON / name).read_text(encoding="utf-8").splitlines())
    return {row[0]: row[1] for row in rows if len(row) == 2 and not row[0].startswith("#")}


_DEMONYMS = _read_table("demonyms.tsv")


def is_demonym(word: str) -> bool:
    """True for a nationality or a people's adjective ("French", "Malian")."""
    return word.lower().strip(".,;:!?'’\"") in _DEMONYMS


@lru_cache(maxsize=1)
def place_nouns() -> tuple[str, ...]:
    """Common nouns for places (lexicon/place_nouns.txt), for places an entity tagger misses."""
    lines = (_LEXICON / "place_nouns.txt").read_text(encoding="utf-8").splitlines()
    return tuple(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, keeping hyphenated and apostrophe forms together."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def content_terms(text: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """Stemmed content terms of a text, in order, stop words (and ``skip``) removed."""
    kept = [
        _IRREGULAR.get(w) or _DEMONYMS.get(w) or w
        for w in words(text) if w not in _STOP and w not in skip
    ]
    return list(_stemmer().stemWords(kept)) if kept else []


def inverse_document_frequencies(term_sets: Iterable[frozenset[str]]) -> dict[str, float]:
    """Smoothed IDF of each term over a collection of term sets."""
    counts: Counter[str] = Counter()
    n = 0
    for terms in term_sets:
        counts.update(terms)
        n += 1
    return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in counts.items()}
