"""Text utilities every layer shares: word tables, the citation marker, the tokenizer and stemmer.

The one home of number words, month and weekday names, abbreviations, the ``[n]`` marker and
the content-term tokenizer used by BM25 (via ``stemmer``) and by term weights (``content_terms``).
General English only: nothing here is fitted to a corpus.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from spacy.lang.en.stop_words import STOP_WORDS

__all__ = [
    "ABBREVIATIONS",
    "CARDINALS",
    "MARKER",
    "MONTHS",
    "MONTH_NAMES",
    "ORDINALS",
    "PAST_FORMS",
    "TITLES",
    "WEEKDAYS",
    "WEEKDAY_NAMES",
    "content_terms",
    "number_words",
    "quotes_exactly",
    "stemmer",
    "words",
]

MARKER = re.compile(r"\[(\d+)\]")  # a citation marker in answer text: "[2]"
# the words that deny what follows them; "n't" is matched as a suffix
NEGATION_WORDS = ("never", "no", "not", "none", "nobody", "nothing", "neither", "nor", "cannot")


def negation_pattern(*more: str) -> re.Pattern[str]:
    """A negation word (or ``more`` of them, such as "without") or an "n't", in any case."""
    return re.compile(rf"\b(?:{'|'.join((*NEGATION_WORDS, *more))})\b|n[’']t\b", re.IGNORECASE)

CARDINALS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "dozen": 12, "hundred": 100, "hundreds": 100,
    "thousand": 1000, "thousands": 1000, "million": 1_000_000, "millions": 1_000_000,
    "billion": 1_000_000_000,
}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}

MONTHS = {
    name: number
    for number, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
         ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
         ("oct", "october"), ("nov", "november"), ("dec", "december")],
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "wednesday"),
         ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"),
         ("sun", "sunday")]
    )
    for name in names
}
MONTH_NAMES = tuple(max((n for n, i in MONTHS.items() if i == m), key=len) for m in range(1, 13))
WEEKDAY_NAMES = tuple(max((n for n, i in WEEKDAYS.items() if i == d), key=len) for d in range(7))

# Titles and other words whose full stop does not end a sentence ("Mr. Hollande", "Lt. Col.")
TITLES = (
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Lt", "Col", "Gen", "Sgt", "Capt", "Cpt", "Maj", "Cpl", "Pvt",
    "Adm", "Cmdr", "Rev", "Sen", "Rep", "Gov", "Pres", "Hon", "St", "Mt", "Ft", "Jr", "Sr", "No",
    "Nos", "Vol", "vs", "approx",
)
ABBREVIATIONS = frozenset(
    {t.lower() for t in TITLES} | {"u.s", "u.n", "e.g", "i.e"}
    | {m for m in MONTHS if len(m) <= 4 and m != "may"}
)

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_STOP = (frozenset(STOPWORDS_EN) | frozenset(STOP_WORDS) | {"s", "said", "says", "mr", "mrs"}) - (
    CARDINALS.keys() | ORDINALS.keys()
)

# English irregular verb forms and common demonyms, folded to one term before stemming so that
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
PAST_FORMS = frozenset(form for form, base in _IRREGULAR.items() if base not in {"be", "have"})

_DEMONYMS = {
    "french": "france", "malian": "mali", "malians": "mali", "algerian": "algeria",
    "nigerian": "nigeria", "nigerien": "niger", "senegalese": "senegal", "german": "germany",
    "russian": "russia", "canadian": "canada", "american": "america", "americans": "america",
    "british": "britain", "chinese": "china", "european": "europe", "african": "africa",
    "africans": "africa", "ivorian": "ivory", "chadian": "chad", "togolese": "togo",
    "beninese": "benin", "ghanaian": "ghana", "burkinabe": "burkina", "guinean": "guinea",
    "spanish": "spain", "italian": "italy", "japanese": "japan", "indian": "india",
    "pakistani": "pakistan", "afghan": "afghanistan", "israeli": "israel", "lebanese": "lebanon",
    "swedish": "sweden", "finnish": "finland", "lithuanian": "lithuania", "korean": "korea",
    "australian": "australia", "malaysian": "malaysia", "egyptian": "egypt", "libyan": "libya",
    "moroccan": "morocco", "tunisian": "tunisia", "mauritanian": "mauritania",
}


def is_demonym(word: str) -> bool:
    """True for a nationality or a people's adjective ("French", "Malian")."""
    return word.lower().strip(".,;:!?'’\"") in _DEMONYMS


def quotes_exactly(text: str | None, start: int, end: int, quote: str) -> bool:
    """True when ``quote`` is ``text[start:end]`` byte for byte, over a real, non-empty span."""
    return text is not None and 0 <= start < end <= len(text) and text[start:end] == quote


def number_words(low: int, high: int) -> dict[str, int]:
    """The cardinal number words for ``low``..``high`` (one spelling each: no "dozen")."""
    return {w: n for w, n in CARDINALS.items() if low <= n <= high and w != "dozen"}


@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    """The English Snowball stemmer, shared by BM25 and content terms."""
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
    return list(stemmer().stemWords(kept)) if kept else []
