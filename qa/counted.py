"""Whether a figure counts the group a question asks about ("how many Malian soldiers"): the
counted thing follows the figure, and the question's qualifier stands with it, not elsewhere in
the sentence ("Benin is sending 2,000 soldiers to Mali" counts Benin's soldiers)."""

from __future__ import annotations

from embeddings.records import Sentence
from qa.question import Question
from qa.text import content_terms, is_demonym, words

HEAD_REACH = 4  # words after a figure within which the counted thing must follow it
HOLDER_REACH = 3  # words before a figure that may name whose it is ("Mali's 100", "Mali sent 100")
_PLACE_PREPOSITIONS = frozenset({"for", "to", "in", "into", "at", "from", "with", "against", "towards"})


def counts_group(sentence: Sentence, question: Question) -> bool:
    """True when one of the sentence's figures counts the question's counted thing, qualified as
    the question qualifies it (or by nobody else, when the sentence names no one else)."""
    *qualifiers, head = question.counted
    for figure in sentence.numbers:
        at = sentence.text.find(figure)
        if at < 0:
            continue
        after = words(sentence.text[at + len(figure):])[:HEAD_REACH]
        stems = [content_terms(w) for w in after]
        reach = next((i for i, s in enumerate(stems) if head in s), None)
        if reach is None:
            continue
        between = after[:reach]
        near = {t for w in between + _holders(sentence.text[:at]) for t in content_terms(w)}
        if set(qualifiers) <= near:
            return True
        # "100 Senegalese soldiers": another people's count
        if not any(is_demonym(w) for w in between) and not _names_anyone(sentence):
            return True
    return False


def _holders(before: str) -> list[str]:
    """The words just before a figure that may say whose it is; a name after "for", "to", "in"
    says where it goes ("troops for Mali to 650 soldiers")."""
    tokens = words(before)
    start = len(tokens) - HOLDER_REACH
    return [w for i, w in enumerate(tokens)
            if i >= start and (i == 0 or tokens[i - 1] not in _PLACE_PREPOSITIONS)]


def _names_anyone(sentence: Sentence) -> bool:
    """True when the sentence names a person, organisation or country (whose the figure may be)."""
    return any(e.label in ("PERSON", "ORG", "NORP", "GPE") for e in sentence.entities)
