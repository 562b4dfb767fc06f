"""Near-miss premises: a sentence that reads like the question but says one detail otherwise.

A question written to look answerable moves a negation ("which town did not vote"), turns a word
into its opposite by a prefix ("unpopular" for "popular"), changes a degree ("smallest" for
"second-largest") or counts in a unit the sentence never counts ("how many years" of a sentence
giving a year). ``near_miss`` tells such a sentence from one that answers.
"""

from __future__ import annotations

import re
from functools import lru_cache

from spacy.tokens import Token

from qa.followup import load_parser
from qa.text import CARDINALS, content_terms, negation_pattern, stemmer

_WORD = re.compile(r"[a-z]+|\d[\d,.]*")
_NEGATION = negation_pattern()  # "without" denies a noun, never the verb a premise moves
# "not only" and "no doubt" add, they deny nothing
_NOT_DENIAL = re.compile(r"\s*(?:only|just|merely|least|doubt|less|more)\b", re.IGNORECASE)
SCOPE = 2  # content words after a negation that it denies ("never been rebranded": "rebranded")
_AUXILIARY = frozenset({"be", "been", "being", "is", "are", "was", "were", "have", "has", "had", "do",
                        "does", "did", "to", "longer", "ever", "yet", "also", "even", "a", "an", "the"})
# "not" negates a verb after these ("was not built", "did not attend"); after others it may deny a noun
_VERBAL = frozenset({"is", "are", "was", "were", "be", "been", "has", "have", "had", "do", "does", "did",
                     "will", "would", "can", "could", "should", "shall", "may", "might", "must"})
_YES_NO = re.compile(rf"\s*(?:{'|'.join(sorted(_VERBAL))})\b", re.IGNORECASE)
# an opposite made by a prefix: "unknown" / "known", "disloyal" / "loyal", "non-member" / "member"
_NEGATIVE = ("non", "un", "dis", "in", "im", "il", "ir")
# in-/im-/il-/ir- also just mean "in" ("income", "import"): only an adjective's prefix negates it
_ADJECTIVE_END = re.compile(r"(?:able|ible|ant|ent|ate|ete|ive|al|ic|ful|ous|ar|ect|id|it)$")
# prefixes that point opposite ways: "include" / "exclude", "increase" / "decrease", "overpaid" /
# "underpaid", "import" / "export"
_OPPOSED = (("in", "ex"), ("in", "de"), ("im", "ex"), ("in", "out"), ("over", "under"), ("pre", "post"))
_ORDINALS = frozenset({"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                       "ninth", "tenth", "last"})
_DEGREE = frozenset({"most", "least", "more", "less"})
_UNITS = ("second", "minute", "hour", "day", "week", "month", "year", "decade", "century")
_ASKS_UNIT = re.compile(rf"\bhow\s+many\s+({'|'.join(_UNITS)}|centuries)s?\b", re.IGNORECASE)
_COUNT = (r"(?:\d[\d,.]*|a|an|one|several|few|many|dozens?|hundreds?|thousands?|"
          + "|".join(sorted(CARDINALS, key=len, reverse=True)) + ")")


def near_miss(question: str, sentence: str, context: str = "") -> bool:
    """True when ``sentence`` misses the question's premise by one detail: it negates another word
    than the question does, states the prefixed opposite of a question's word, gives another degree
    of the question's superlative, has no count of the time unit the question asks for, or dates
    what it says to another year than the question's ("as of 2009" for "as of 2011"), or puts the
    question's subject where its answer goes ("renamed as Acme" for "what was Acme renamed as"), or
    gives the question's noun each time another kind than the question's, which ``context`` (the
    retrieved text) says too ("private schools" for "a public school"), or says a word of the question
    only as what is not so ("paid by fees rather than taxes" for "which taxes pay")."""
    return (_negation_moved(question, sentence) or _opposite(question, sentence)
            or _degree_changed(question, sentence) or _uncounted(question, sentence)
            or _year_moved(question, sentence) or _roles_swapped(question, sentence)
            or _argument_swapped(question, sentence) or _count_moved(question, sentence)
            or _qualifier_swapped(question, sentence, context) or _only_contrasted(question, sentence))


def _stems(text: str) -> list[str]:
    found = _WORD.findall(text.lower())
    return list(stemmer().stemWords(found)) if found else []


@lru_cache(maxsize=8192)
def _denied(text: str, verbal: bool = False) -> frozenset[str]:
    """The stems of the words each negation of ``text`` denies ("was never rebranded": "rebrand");
    ``verbal``: only a negated verb's ("did not win", not "love, not war" nor "no court")."""
    denied: set[str] = set()
    for m in _NEGATION.finditer(text):
        rest = text[m.end():]
        if _NOT_DENIAL.match(rest):
            continue
        before = text[:m.start()].split()[-1:]
        said = m.group(0).lower()
        if verbal and (not said.endswith(("t", "never"))  # "no", "none", "nor" deny a noun
                       or (said == "not" and not (before and before[0].lower() in _VERBAL))):
            continue
        after = [w for w in _WORD.findall(rest.lower())[:SCOPE + 4] if w not in _AUXILIARY]
        denied |= {t for w in after[:SCOPE] for t in content_terms(w)}
    return frozenset(denied)


def _negated(text: str) -> bool:
    return any(not _NOT_DENIAL.match(text[m.end():]) for m in _NEGATION.finditer(text))


def _negation_moved(question: str, sentence: str) -> bool:
    """The question denies what the sentence does not ("which plant was not built" of "the plant
    was not finished"), or the sentence denies what the question asks as so ("who attended" of
    "Acme did not attend"; a yes-no question is answered either way)."""
    if _negated(question):
        # what the question denies, the sentence must deny too (when it says it at all)
        denied = _denied(question)
        said = set(content_terms(sentence))
        return bool(denied) and not denied & _denied(sentence) and bool(denied & said or _negated(sentence))
    if _YES_NO.match(question):
        return False
    return bool(_denied(sentence, verbal=True) & set(content_terms(question)))


def _opposite(question: str, sentence: str) -> bool:
    """One text says the prefixed opposite of a word of the other ("unpopular" / "popular",
    "included" / "excluded"), and not that word itself."""
    asked, said = set(_stems(question)), set(_stems(sentence))
    one, other = asked - said, said - asked
    return any(_opposed(a, b) or _opposed(b, a) for a in one for b in other)


def _opposed(word: str, other: str) -> bool:
    """True when ``word`` is a prefixed opposite of ``other`` ("unknown" of "known")."""
    for prefix in _NEGATIVE:
        base = word[len(prefix):].lstrip("-")
        if word.startswith(prefix) and base == other and len(base) >= 4:
            return prefix not in {"in", "im", "il", "ir"} or bool(_ADJECTIVE_END.search(word))
    return any(
        word.startswith(p) and other.startswith(q) and len(word) - len(p) >= 4
        and word[len(p):] == other[len(q):]
        for pair in _OPPOSED for p, q in (pair, pair[::-1])
    )


def _degree_words(text: str) -> list[str]:
    # "second-largest" is two words, as "second largest" is
    return _WORD.findall(text.lower().replace("-", " "))


def _superlatives(found: list[str]) -> list[tuple[str, str, str]]:
    """(ordinal or "", superlative, next word) for each "the (second) largest X" / "most X"."""
    out = []
    for i, w in enumerate(found):
        before = found[i - 1] if i else ""
        after = found[i + 1] if i + 1 < len(found) else ""
        if w in {"most", "least"} and after and after not in {"of", "the", "a"}:
            out.append((before if before in _ORDINALS else "", f"{w} {after}",
                        found[i + 2] if i + 2 < len(found) else ""))
        elif (len(w) > 5 and w.endswith("est") and before in {"the", "s", "its", "their"} | _ORDINALS):
            out.append((before if before in _ORDINALS else "", w, after))
    return out


def _degree_changed(question: str, sentence: str) -> bool:
    """The sentence says the question's superlative with another ordinal ("second-largest" for
    "largest", or the reverse), in the comparative ("larger"), or says another superlative where
    the question has its own ("the highest on record" for "the lowest on record")."""
    asked, said = _degree_words(question), _degree_words(sentence)
    stated = set(said)
    for ordinal, word, after in _superlatives(asked):
        given = [(o, w, a) for o, w, a in _superlatives(said) if w == word]
        if given:
            if all(o != ordinal for o, _, _ in given):
                return True
            continue
        base = word.split()[-1]
        if " " not in word and base[:-3] + "er" in stated:
            return True  # "larger" for "largest"
        rival = word.split()[0] in {"most", "least"} and (
            ("least " if word.startswith("most") else "most ") + base) in " ".join(said)
        if rival or any(w != word and a == after and a for _, w, a in _superlatives(said)):
            return True
    return False


def _uncounted(question: str, sentence: str) -> bool:
    """The question asks how many of a time unit ("how many years") and the sentence counts none."""
    found = _ASKS_UNIT.search(question)
    if not found:
        return False
    unit = found.group(1).lower()
    unit = "century" if unit == "centuries" else unit
    stem = "centur" if unit == "century" else unit
    counted = re.compile(rf"\b{_COUNT}(?:[\s-]+(?:and\s+a\s+half|\w+))?[\s-]+{stem}", re.IGNORECASE)
    return not counted.search(sentence)


# a year, one before or after Christ ("2500 BC"), or a century ("the 16th century")
_YEAR = r"(?:1\d{3}|20\d{2}|\d{1,4}\s?(?:BC|BCE|AD|CE)|(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\s+century)"
_DATED = re.compile(
    rf"\b((?i:in|on|of|since|by|until|before|after|from|during))\s+(?:[A-Z]\w+\s+)?(?:\d{{1,2}},?\s+)?({_YEAR})\b"
)


def _when(preposition: str) -> str:
    """"in", "on" and "during" 1990 all say when; the others say from or until when."""
    word = preposition.lower()
    return "in" if word in {"in", "on", "during"} else word


def _time(said: str) -> str:
    """One spelling of a year or century: "2500BC" of "2500 BC", "16th century" of "the 16th century"."""
    return re.sub(r"^the\s+", "", said).replace(" ", "").lower()


def _year_moved(question: str, sentence: str) -> bool:
    """The question dates its fact to a year or century ("in 2011", "in 300 BC") that the sentence
    does not state, and the sentence dates its own to another the same way ("in 2009", "in the 16th
    century"): its neighbour's year is no help."""
    years = {_time(m.group(0)) for m in re.finditer(rf"\b{_YEAR}\b", sentence)}
    asked = [(_when(m.group(1)), _time(m.group(2))) for m in _DATED.finditer(question)
             if _time(m.group(2)) not in years]
    said = {(_when(m.group(1)), _time(m.group(2))) for m in _DATED.finditer(sentence)}
    return any(p == q and y != z for p, y in asked for q, z in said)


_ENDS_ON = re.compile(r"([a-z][\w-]*)\s+(as|to|by|from|into|with|for)\s*\?*\s*$", re.IGNORECASE)
_CAPITALISED = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")


def _roles_swapped(question: str, sentence: str) -> bool:
    """The question asks what its subject was done to ("what was Acme renamed as?") and the sentence
    gives the subject itself in that place ("Bolt was renamed as Acme"): the roles are the other way."""
    ends = _ENDS_ON.search(question)
    if not ends:
        return False
    verb, link = ends.group(1).lower().replace("-", ""), ends.group(2).lower()
    names = {n for n in _CAPITALISED.findall(question.split(maxsplit=1)[-1]) if len(n) > 1}
    flat = sentence.replace("-", "")
    for m in re.finditer(rf"\b(\w+)\s+{link}\s+['‘\"“]?([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)", flat):
        if _stems(m.group(1)) == _stems(verb) and m.group(2).rstrip("'’") in names:
            return True
    return False


_ROLES = {"nsubj": "subject", "nsubjpass": "object", "dobj": "object"}


def _is_name(token: Token) -> bool:
    """A proper name by its capital (a sentence's first word by its tag): a name and a common noun
    may be one thing ("Acme" and "the firm"), so only arguments of one kind are compared."""
    return token.pos_ == "PROPN" if token.i == token.sent.start else token.text[:1].isupper()


@lru_cache(maxsize=4096)
def _arguments(text: str) -> tuple[tuple[str, str, frozenset[str], bool], ...]:
    """(verb stem, role, the argument's stem and its modifiers' stems, is a name) for each noun
    doing or undergoing a verb."""
    found = []
    for token in load_parser()(text):
        # each of coordinated nouns ("Acme and Bolt hired") has the first one's role
        first = token
        while first.dep_ == "conj" and first.head is not first:
            first = first.head
        role = _ROLES.get(first.dep_)
        if role and first.head.pos_ == "VERB" and any(c.dep_ == "auxpass" for c in first.head.children):
            role = "object"  # "Acme was hired" says what "they hired Acme" does
        # "which firm" is what is asked, not a premise; "the inside of X" is said in many words
        asked = any(c.tag_ in {"WDT", "WP", "WP$"} or c.lower_ == "of" for c in token.children)
        # "have" and "do" say little of their subject
        light = first.head.lower_ in _VERBAL | _AUXILIARY
        if role and token.pos_ in {"NOUN", "PROPN"} and first.head.pos_ == "VERB" and not asked and not light:
            verb, argument = _stems(first.head.text), _stems(token.text)
            modifiers = _stems(" ".join(c.text for c in token.children if c.dep_ in {"compound", "amod"}))
            if verb and argument:
                found.append((verb[0], role, frozenset(argument[-1:] + modifiers), _is_name(token)))
    return tuple(found)


def _argument_swapped(question: str, sentence: str) -> bool:
    """The sentence gives the question's verb another doer or object of the same kind, sharing no
    word with the question's, and does not state the question's own (a name: not with that verb):
    "Bolt was hired" for "when was Acme hired", "repaired the roof" for "when did they repair the
    bridge", "Bolt was hired, and later Acme ..." for the first: it tells of another."""
    asked, said = set(_stems(question)), set(_stems(sentence))
    theirs = _arguments(sentence)
    for verb, role, argument, name in _arguments(question):
        # a common noun may be said elsewhere in the sentence in another role, unless another verb
        # has it ("the fight goes on"); a name must be said with the verb, in either place ("who
        # played Roddick" of "Roddick played Bolt": either may be said to play the other)
        elsewhere = any(v != verb and a & argument for v, _, a, _ in theirs)
        if (argument & said and not name and not elsewhere) or any(
            v == verb and a & argument for v, _, a, _ in theirs
        ):
            continue
        if any(v == verb and r == role and not a & asked and n == name for v, r, a, n in theirs):
            return True
    return False


def _value(token: Token) -> str:
    word = token.lower_.replace(",", "")
    return str(CARDINALS[word]) if word in CARDINALS else word


@lru_cache(maxsize=4096)
def _counts(text: str) -> frozenset[tuple[str, str]]:
    """(figure, stem of the noun it counts) for "ten clubs" and "ten of the (football) clubs"."""
    found = set()
    for token in load_parser()(text):
        if not token.like_num:
            continue
        counted = [token.head] if token.dep_ == "nummod" else [
            w for c in token.children if c.lower_ == "of" for o in c.children if o.dep_ == "pobj"
            for w in [o, *(x for x in o.children if x.dep_ == "compound")]
        ]
        found |= {(_value(token), stem) for w in counted if w.pos_ == "NOUN" for stem in _stems(w.text)}
    return frozenset(found)


def _count_moved(question: str, sentence: str) -> bool:
    """The sentence counts a noun the question counts, and never by the question's figure ("four of
    the clubs are members" for "what are ten of the clubs members of"): it tells of another group."""
    said = _counts(sentence)
    for value, noun in _counts(question):
        given = {v for v, n in said if n == noun}
        if given and value not in given:
            return True
    return False


# adjectives that pick out no kind of thing ("the other schools", "its own schools")
_UNQUALIFYING = frozenset({"other", "same", "own", "such", "many", "few", "much", "several", "various",
                           "certain", "only", "whole", "entire", "very", "so", "too", "just", "also"})


@lru_cache(maxsize=4096)
def _qualified(text: str, of: bool = False) -> tuple[tuple[str, frozenset[str]], ...]:
    """(stem of a common noun, stems of the words before it that say which kind) for each noun:
    "odd" of "every odd integer", "public" of "a public school"; ``of``: and of the nouns after
    "of" ("primes" of "the distribution of primes" says "prime distribution")."""
    found = []
    for token in load_parser()(text):
        if token.pos_ != "NOUN" or not (stem := _stems(token.text)):
            continue
        kinds = [c.text for c in token.children if c.i < token.i and c.tag_ in {"JJ", "RB"}
                 and c.dep_ in {"amod", "advmod"} and c.lower_ not in _UNQUALIFYING]
        if of:
            kinds += [o.text for c in token.children if c.lower_ == "of" for o in c.children
                      if o.dep_ == "pobj" and o.pos_ == "NOUN"]
        found.append((stem[-1], frozenset(_stems(" ".join(kinds)))))
    return tuple(found)


def _kind_said(kinds: frozenset[str], noun: str, text: str) -> bool:
    """True when ``text`` says one of ``kinds`` right before the noun ("public schools", "odd prime
    integers"): the question's kind is one the texts tell apart."""
    stems = _stems(text)
    return any(w in kinds and noun in stems[i + 1:i + 3] for i, w in enumerate(stems))


def _qualifier_swapped(question: str, sentence: str, context: str) -> bool:
    """The question says which kind of a thing it asks of ("a public school", "every odd integer"),
    a kind the ``context`` (the retrieved text) also says of it, and the sentence says the thing each
    time as another kind ("private schools", "every even integer"): it tells of the other kind."""
    if not context:
        return False
    asked: dict[str, set[str]] = {}
    for noun, kinds in _qualified(question):
        asked.setdefault(noun, set()).update(kinds)
    said = _qualified(sentence, of=True)
    for noun, wanted in asked.items():
        given = [k for n, k in said if n == noun]
        if wanted and given and all(k and not k & wanted for k in given) and _kind_said(
            frozenset(wanted), noun, context
        ):
            return True
    return False


# "rather than X", "instead of X": what follows is set aside, not stated
_CONTRAST = re.compile(r"\b(?:rather\s+than|instead\s+of)\b([^,;:.()]*)", re.IGNORECASE)
CONTRAST_SCOPE = 3  # content words after "rather than" that it sets aside ("relying on mandatory taxes")


def _contrasted(text: str) -> set[str]:
    return {t for m in _CONTRAST.finditer(text) for t in content_terms(m.group(1))[:CONTRAST_SCOPE]}


def _only_contrasted(question: str, sentence: str) -> bool:
    """The sentence says a word of the question only in what it sets aside ("funded by fees rather
    than by taxes" for "which taxes fund it"): it tells what is so instead (a question that sets the
    same word aside, "rather than taxes, what funds it", asks for just that)."""
    aside = _contrasted(sentence) - _contrasted(question)
    if not aside:
        return False
    outside = set(content_terms(_CONTRAST.sub(" ", sentence)))
    return bool((aside - outside) & set(content_terms(question)))
