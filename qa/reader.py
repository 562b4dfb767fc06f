"""What a question pins down (its numbers, dates and names) and the evidence window that must match it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qa.claim_text import calendar_words, numbers
from qa.question import carried_apart, parse_question
from qa.records import Evidence, ScoredSentence
from qa.retrieve import term_coverage
from qa.text import (
    MONTH_NAMES,
    PAST_FORMS,
    TITLES,
    content_terms,
    is_demonym,
    negation_pattern,
    stemmer,
    words,
)

if TYPE_CHECKING:
    from spacy.tokens import Token

_DIGITS = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_NAME = re.compile(r"[A-Z][\w'’.-]*")
_COORDINATED = re.compile(
    r"[A-Z][\w'’.-]*(?:,\s+[A-Z][\w'’.-]*)*,?\s+(?:and|or)\s+[A-Z][\w'’.-]*"
)
# English words for peoples, places and their adherents by their ending ("Asian", "Zimbabwean",
# "Welsh", "Iraqi", "Muslims", "Islamists"): text often says who they are in other words
_PEOPLES = re.compile(r"[A-Z][a-z]+(?:an|ans|ese|ish|sh|ic|i|ist|ists|ite|ites)")
# what has not happened (yet): "will play", "hopes to finally become", "is to meet" (general English)
_UNREAL = re.compile(
    r"\b(?:will|would|could|might|may|shall|(?:hopes?|hoping|plans?|planning|expects?|expected|aims?|"
    r"aiming|wants?|intends?|is|are|set|due|likely|going|about)\s+to)\s+((?:\S+\s+){0,2}\S+)",
    re.IGNORECASE,
)
_NEGATION = negation_pattern("without")
_AUXILIARIES = frozenset({"be", "been", "have", "do", "get", "a", "an", "the", "to"})
# a clause after the question's own words ("where was he when the storm struck?")
_CIRCUMSTANCE = re.compile(r"(?<=\w)\s+(?:when|while|once|after|before|until)\s+(.+)$", re.IGNORECASE)
CLOSE = 8  # words either side of a candidate answer that are near it
NEIGHBOURS = 2  # sentences either side of a sentence that belong to its evidence window
TOLD_APART = 1  # sentences either side in which a question's common noun may be said (see ``told_apart``)
MOSTLY_STATED = 0.5  # ... by a sentence stating at least this share of the question's weight


@dataclass(frozen=True)
class Anchors:
    """The question's specifics that any evidence for it must state: numbers, months, names."""

    numbers: frozenset[str]
    months: frozenset[str]
    names: frozenset[str]  # the head of each name ("Makarov" of "Viktor Makarov"), its nationality
    choices: tuple[frozenset[str], ...] = ()  # "towns A and B": any one of them per window
    # each name of several words: the terms before its head, and the head's word ("Berlin Film", "Festival")
    qualified: tuple[tuple[frozenset[str], str], ...] = ()
    asked: frozenset[str] = frozenset()  # every content term of the question


@lru_cache(maxsize=4096)
def anchors_of(question: str) -> Anchors:
    """The numbers (written as digits), month and weekday names, and proper names of a question;
    the referents a follow-up carried along are one choice, any of which a window may state."""
    carried = parse_question(question).carried
    question = carried_apart(question)[0]
    found = {m.group(0).replace(",", "") for m in _DIGITS.finditer(question)}
    names: set[str] = set()
    qualified = []
    for phrase in name_phrases(question):
        terms = content_terms(phrase)
        # the head ("Galloway" of "George Galloway"), and a nationality that qualifies it
        # ("French" of "French Senate"): another country's senate is another senate
        names |= set(terms[-1:]) | {t for w in phrase.split()[:-1] if is_demonym(w) for t in content_terms(w)}
        *before, head = (w.strip(".,;:?!") for w in phrase.split())
        head = re.sub(r"['’]s?$", "", head)
        if content_terms(" ".join(before)) and head:
            qualified.append((frozenset(content_terms(" ".join(before))), head))
    # names joined by "and"/"or" are asked about one by one, and may come from different articles
    choices = list(coordinated(question))
    if carried:
        choices.append(frozenset(carried))
    grouped = set().union(*choices)
    return Anchors(
        numbers=frozenset(found), months=frozenset(calendar_words(question)),
        names=frozenset(names - grouped), choices=tuple(choices), qualified=tuple(qualified),
        asked=frozenset(content_terms(question)),
    )


@lru_cache(maxsize=4096)
def coordinated(question: str) -> tuple[frozenset[str], ...]:
    """The content terms of each group of names joined by "and"/"or" ("Spain and Peru")."""
    groups = [frozenset(t for name in _NAME.findall(m.group(0)) for t in content_terms(name))
              for m in _COORDINATED.finditer(question)]
    return tuple(g for g in groups if len(g) > 1)


@lru_cache(maxsize=4096)
def named_terms(question: str) -> frozenset[str]:
    """Every content term of the question's proper names ("aston" and "villa" of "Aston Villa")."""
    return frozenset(t for phrase in name_phrases(question) for t in content_terms(phrase))


@lru_cache(maxsize=4096)
def circumstance_terms(question: str) -> frozenset[str]:
    """The content terms of a clause saying when the asked thing held ("... when the storm struck"):
    they set the scene; the answer is given near what is asked, not near them."""
    found = _CIRCUMSTANCE.search(question)
    return frozenset(content_terms(found.group(1))) if found else frozenset()


def name_phrases(question: str) -> list[str]:
    """Runs of capitalised words after the first word ("Daily Telegraph", "Viktor Makarov"); a
    people's adjective before a common noun ("Asian countries") qualifies, it names nothing."""
    phrases: list[list[str]] = []
    previous = False
    tokens = question.split()[1:]
    for at, token in enumerate(tokens):
        following = tokens[at + 1] if at + 1 < len(tokens) else ""
        named = bool(_NAME.match(token)) and not (
            _PEOPLES.fullmatch(token) and following[:1].islower()
        )
        if named and previous and not re.search(r"[,;:?!]$", phrases[-1][-1]):
            phrases[-1].append(token)
        elif named:
            phrases.append([token])
        previous = named
    return [" ".join(p) for p in phrases]


def mentions(terms: set[str], name: str) -> bool:
    """True when ``terms`` hold the name or a longer form of it ("mali" in "malian")."""
    # "zimbabwean" of "Zimbabwe": one form is the other with an ending
    return name in terms or (len(name) >= 4 and any(
        t.startswith(name) or (len(t) >= 5 and name.startswith(t)) for t in terms
    ))


def matched(
    anchors: Anchors, text: str, title: str = "", context: frozenset[str] = frozenset(),
    article: frozenset[str] = frozenset(),
) -> bool:
    """True when ``text`` states every anchor (names may also be in its article's title or in the
    ``context`` terms of the passage around it; ``article``: the terms of its article's passages)."""
    # invisible format characters ("Quill\u200bmere") must not split a name in two
    text = visible(text)
    if not anchors.numbers <= numbers(text) or not anchors.months <= calendar_words(text):
        return False
    terms = set(content_terms(text)) | set(content_terms(title)) | context
    return all(mentions(terms, name) for name in anchors.names) and all(
        any(mentions(terms, name) for name in group) for group in anchors.choices
    ) and not _renamed(anchors, text, terms, article)


def _renamed(anchors: Anchors, text: str, terms: set[str], article: frozenset[str] = frozenset()) -> bool:
    """True when ``text`` gives a name's head another qualifier than the question's, which it never
    states: "the London Film Festival" for "the Berlin Film Festival" (a title, "Mr Brown", is none)."""
    for qualifier, head in anchors.qualified:
        # the name written out, each time with words the question does not say and without its own
        # ("Economic Sciences" for "British Sciences"), though the text says them elsewhere
        runs = [frozenset(t for w in run.split() if w not in TITLES for t in content_terms(w))
                for run in re.findall(rf"((?:[A-Z][\w'’-]* )+){re.escape(head)}\b", text)]
        if runs and not any(all(mentions(set(run), t) for t in qualifier) for run in runs) and any(
            run - anchors.asked for run in runs
        ):
            return True
        if all(mentions(terms, t) for t in qualifier):
            continue
        # a head the text writes as a common noun ("the festival") names a kind of thing: the
        # qualifier the sources never state picks another one of that kind ("the Quill Festival")
        if re.search(rf"\b{re.escape(head.lower())}\b", text) and not all(
            mentions(terms | article, t) for t in qualifier
        ):
            return True
        # the run of capitalised words right before the head, within its sentence ("Island Records")
        for run in re.findall(rf"((?:[A-Z][\w'’-]* )+){re.escape(head)}\b", text):
            named = [w for w in run.split() if w not in TITLES]
            if any(t not in anchors.asked for w in named for t in content_terms(w)):
                return True
    return False


def visible(text: str) -> str:
    """``text`` without its invisible format characters (Unicode category Cf)."""
    # each distinct character is looked up once, not each occurrence
    hidden = {ch for ch in set(text) if unicodedata.category(ch) == "Cf"}
    return "".join(ch for ch in text if ch not in hidden) if hidden else text


def _spelled(resolved: str | None) -> str:
    """ "2013-01-11" (or "2013-01-11/2013-01-12") as "11 January 2013 ..."; "" when unresolved."""
    spelled = []
    for part in (resolved or "").split("/"):
        found = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", part)
        if found:
            year, month, day = found.groups()
            spelled.append(f"{int(day) if day else ''} {MONTH_NAMES[int(month) - 1]} {year}".strip())
    return " ".join(spelled)


class Windows:
    """Each evidence sentence with its neighbours in the same passage, in text order."""

    def __init__(self, evidence: Evidence, topic: frozenset[str] = frozenset()) -> None:
        self.evidence = evidence
        self._weights = dict(evidence.term_weights)
        # the names the question is about are said all over their story; what it asks of them is not
        self._asked = {t: w for t, w in self._weights.items() if t not in topic} or self._weights
        self._support: dict[tuple[int, int], float] = {}
        self._article: dict[str, frozenset[str]] = {}
        for p, passage in enumerate(evidence.passages[:len(evidence.passage_terms)]):
            self._article[passage.doc_id] = self._article.get(passage.doc_id, frozenset()) | (
                evidence.passage_terms[p] | frozenset(content_terms(passage.title)))
        by_passage: dict[int, list[ScoredSentence]] = {}
        for s in evidence.sentences:
            by_passage.setdefault(s.passage, []).append(s)
        self._order = {p: sorted(group, key=lambda s: s.sentence.start) for p, group in by_passage.items()}
        self._at = {
            (s.passage, s.sentence.start): i for p, group in self._order.items() for i, s in enumerate(group)
        }

    def neighbours(self, s: ScoredSentence, reach: int = NEIGHBOURS) -> list[ScoredSentence]:
        """The sentences within ``reach`` of ``s`` in its passage (``s`` itself left out)."""
        group = self._order[s.passage]
        at = self._at[(s.passage, s.sentence.start)]
        return [group[i] for i in range(max(0, at - reach), min(len(group), at + reach + 1)) if i != at]

    def text(self, s: ScoredSentence) -> str:
        """The sentence and its neighbours, in text order."""
        around = sorted([s, *self.neighbours(s)], key=lambda x: x.sentence.start)
        return " ".join(x.sentence.text for x in around)

    def matches(self, s: ScoredSentence, anchors: Anchors) -> bool:
        """True when the window around ``s`` states every anchor of the question."""
        # an article names its subject (in its title, or sentences before), then leaves it implicit
        terms = self.evidence.passage_terms
        context = terms[s.passage] if s.passage < len(terms) else frozenset()
        # "on Friday" states the day it resolves to ("11 January 2013")
        dates = " ".join(_spelled(d.resolved) for x in [s, *self.neighbours(s)] for d in x.sentence.dates)
        passage = self.evidence.passages[s.passage]
        return matched(anchors, f"{self.text(s)} {dates}", passage.title, context,
                       self._article.get(passage.doc_id, frozenset()))

    def support(self, s: ScoredSentence) -> float:
        """Share of the question's IDF weight stated in the window around ``s`` or its article's title."""
        key = (s.passage, s.sentence.start)
        if key not in self._support:
            title = self.evidence.passages[s.passage].title
            terms = frozenset(content_terms(f"{self.text(s)} {title}"))
            self._support[key] = term_coverage(self._weights, terms)
        return self._support[key]

    def nearness(self, s: ScoredSentence, value: str) -> float:
        """Share of the IDF weight of what the question asks (its words other than its names) stated
        within ``CLOSE`` words of ``value`` in ``s``."""
        text = s.sentence.text
        at = text.find(value)
        if at < 0:
            return 0.0
        near = text[:at].split()[-CLOSE:] + text[at + len(value):].split()[:CLOSE]
        return term_coverage(self._asked, frozenset(content_terms(" ".join(near))))


def asks_past(question: str) -> bool:
    """True when the question asks about something done ("did he ...", "who won", "what was")."""
    said = words(question)
    verb = said[1] if len(said) > 1 else ""
    past = verb in PAST_FORMS or verb in {"was", "were"} or (len(verb) > 4 and verb.endswith("ed"))
    return "did" in said or past


def unreal(text: str, question: str) -> bool:
    """True when ``text`` says what the question asks as not (yet) done: "will play", "hopes to become"
    (unless the question itself asks about a plan: "due to deploy")."""
    if _UNREAL.search(question):
        return False
    asked = set(stemmer().stemWords(words(question))) - _AUXILIARIES
    # the verb after "will" (or after an adverb: "hopes to finally become"), not the names that follow
    verbs = [w for m in _UNREAL.finditer(text) for w in m.group(1).split()[:2] if w.islower()]
    return bool(set(stemmer().stemWords(verbs)) & asked)


def negated(text: str) -> bool:
    """True when ``text`` says something is not so ("never", "no", "not", "don't")."""
    return bool(_NEGATION.search(text))


def asks_negated(question: str) -> bool:
    """True when what the question asks is negated ("what is never involved"); "without" only says in
    what circumstances ("sold without a licence"), which a source may say in other words."""
    return any(m.group(0).lower() != "without" for m in _NEGATION.finditer(question))


# small words that join a word to its neighbour ("head of", "sold to"); articles are skipped
_LINKS = frozenset({"of", "to", "in", "at", "for", "on", "with", "by", "from", "into"})
_ARTICLES = frozenset({"the", "a", "an"})
_TOKEN = re.compile(r"[\w'’-]+")


def _tokens(text: str) -> list[str]:
    """Words as written, possessives cut ("Kim's" -> "Kim"), articles left out."""
    found = (re.sub(r"['’]s?$", "", t) for t in _TOKEN.findall(text))
    return [t for t in found if t and t.lower() not in _ARTICLES]


def _term(token: str) -> str:
    terms = content_terms(token)
    return terms[-1] if terms else ""


def _beside(tokens: list[str], at: int, step: int) -> tuple[tuple[str, ...], int]:
    """The link words from ``at`` in direction ``step`` and where the next other word is (-1: none)."""
    links: list[str] = []
    at += step
    while 0 <= at < len(tokens) and tokens[at].lower() in _LINKS:
        links.append(tokens[at].lower())
        at += step
    return tuple(links), at if 0 <= at < len(tokens) else -1


def _same_word(one: str, other: str) -> bool:
    """True when two words may be forms of one: "lose" and "loss" (they begin alike)."""
    return one[:3].lower() == other[:3].lower()


def slot_taken(question: str, sentence: str) -> bool:
    """True when ``sentence`` leaves out a word of the question and gives its place to another: the
    object of the same word and small word ("head of sales" for "head of marketing", "sold to a
    rival" for "sold to Acme"), the word joined so to the same name ("mayor of Quilltown" for
    "sheriff of Quilltown"), or, for a name, the place beside the same word ("Jones announced" for
    "Smith announce"). A title ("Mr"), a figure or a word the question says takes no place."""
    asked, said = _tokens(visible(question))[1:], _tokens(visible(sentence))
    stated = {_term(t) for t in said}
    terms = set(content_terms(question))
    for i, word in enumerate(asked):
        if not (own := _term(word)) or own in stated:
            continue
        named = word[:1].isupper()
        for step in (-1, 1):
            links, j = _beside(asked, i, step)
            if j < 0 or not (neighbour := _term(asked[j])):
                continue
            # a name's neighbour may be said in another form ("lose to Acme", "loss to Acme")
            beside = [k for k, t in enumerate(said) if _term(t) == neighbour
                      or (named and _term(t) and _same_word(t, asked[j]))]
            if not beside:
                continue
            # words side by side are often said in other forms ("Acme's boss", "the boss of Acme"),
            # a head noun in other words ("the notion of" a thing, though not of a name), and "to"
            # leads to verbs ("plan to borrow")
            if links and ((step > 0 and not asked[j][:1].isupper()) or ("to" in links and not named)):
                continue
            if not links and not (named and asked[j][:1].islower()):
                continue
            for k in beside:
                around, m = _beside(said, k, -step)
                rival = said[m] if m >= 0 and around == links[::-1] else ""
                if (_term(rival) and _term(rival) not in terms and rival not in TITLES
                        and not re.search(r"\d", rival) and not _same_word(rival, word)
                        and (links or rival[:1].isupper())):
                    return True
    return False


@lru_cache(maxsize=4096)
def _head_nouns(question: str) -> frozenset[str]:
    """The terms of the common nouns a question asks of, as heads ("lanternbugs" of "the feature of
    lanternbugs"), not as another noun's modifier ("budget" of "budget deficits"), nor as the kind
    of a name the question gives ("the town of Quillby", "the Quill river"): a text may say the
    name alone."""
    from qa.followup import load_parser  # spaCy loads on the first question that needs it

    return frozenset(t for token in load_parser()(question) if token.pos_ == "NOUN"
                     and token.dep_ != "compound" and token.text[:1].islower() and not _names_kind(token)
                     for t in content_terms(token.text))


def _names_kind(token: Token) -> bool:
    """True for a noun said of a name: "town" of "the town of Quillby" and of "the Quill river"."""
    return any(c.pos_ == "PROPN" and c.dep_ == "compound" for c in token.children) or any(
        c.lower_ == "of" and any(o.pos_ == "PROPN" for o in c.children) for c in token.children)


def told_apart(question: str, s: ScoredSentence, windows: Windows) -> bool:
    """True when a common noun the question asks of is in the sentence's passage but neither in the
    sentence nor next to it: the passage tells of it elsewhere, so the sentence (about
    "glimmerfins" where the question asks of "lanternbugs", both in the passage) tells of another
    thing. A name may be left to a pronoun or title far from where it is said, a verb or adjective
    said in other words; they are not judged, nor a sentence stating less than half of the question
    (by weight), which may say the rest in other words."""
    terms = windows.evidence.passage_terms
    if s.passage >= len(terms) or s.coverage < MOSTLY_STATED:
        return False
    around = windows.neighbours(s, TOLD_APART)
    title = windows.evidence.passages[s.passage].title
    near = " ".join(n.sentence.text for n in [s, *around])
    return bool((_head_nouns(question) & terms[s.passage]) - set(content_terms(f"{near} {title}")))


@lru_cache(maxsize=8192)
def named_doers(text: str) -> frozenset[str]:
    """The name a sentence makes the subject of its main verb ("Ada Quill" of "Ada Quill also showed
    ..."), which the small entity tagger may miss or call a work of art: who did what it says."""
    from qa.followup import load_parser  # spaCy loads on the first question that needs it

    doc = load_parser()(text)
    found = set()
    for token in doc:
        # the subject of the sentence's own verb, not of a clause reporting another's deed
        if (token.dep_ in {"nsubj", "nsubjpass"} and token.head.dep_ == "ROOT" and token.pos_ == "PROPN"
                and token.text[:1].isupper()):
            start, end = token.i, token.i + 1  # the run of proper nouns the subject ends or is in
            while start > 0 and doc[start - 1].pos_ == "PROPN":
                start -= 1
            while end < len(doc) and doc[end].pos_ == "PROPN":
                end += 1
            found.add(doc[start:end].text)
    return frozenset(found)
