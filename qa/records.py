"""Question-time records: Question -> Passage (scored chunk) -> Evidence -> Answer with Citations.

These Structs are the public schema: the CLI prints them, the HTTP layer returns them as they are.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from embeddings.records import Sentence

__all__ = [
    "MODES",
    "Answer",
    "Citation",
    "DocumentInfo",
    "DocumentText",
    "Evidence",
    "Mode",
    "NewDocument",
    "Passage",
    "Question",
    "ScoredSentence",
    "StreamEvent",
]

Mode = Literal["extractive", "llm"]  # the answer modes; qa.service.GENERATORS implements each
MODES: tuple[Mode, ...] = get_args(Mode)


class Question(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed question (qa.question.parse_question): text, stemmed content terms, answer kinds."""

    text: str
    terms: tuple[str, ...]
    needs: frozenset[str]
    list_size: int | None = None
    counted: tuple[str, ...] = ()  # terms of what "how many/how much" counts ("French troops")
    carried: tuple[str, ...] = ()  # terms of the referents a follow-up carried along (any one applies)


class Passage(msgspec.Struct, frozen=True, kw_only=True):
    """A retrieved chunk with its fused retrieval score."""

    doc_id: str
    title: str
    source: str | None
    published: str | None
    text: str  # == original_text_of(doc_id)[start:end]
    start: int
    end: int
    score: float


class ScoredSentence(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of a retrieved passage scored against the question."""

    sentence: Sentence
    passage: int  # index into Evidence.passages
    score: float  # blend of the two below
    similarity: float = 0.0  # cosine of question and sentence embeddings
    coverage: float = 0.0  # IDF-weighted share of the question's terms found in the sentence


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """What retrieval hands to a generator: passages and their sentences, best first."""

    question: str
    passages: tuple[Passage, ...]
    sentences: tuple[ScoredSentence, ...]
    parsed: Question | None = None  # the question as parsed once per request (None: built by hand)
    focus: tuple[str, ...] = ()  # the question's terms that the corpus knows, rarest first
    passage_terms: tuple[frozenset[str], ...] = ()  # content terms of each passage (from the index)
    term_weights: tuple[tuple[str, float], ...] = ()  # IDF of each question term (unknown: the rarest)
    parts: tuple[Evidence, ...] = ()  # for "A, and what B?": the evidence of each question


class Citation(msgspec.Struct, frozen=True, kw_only=True):
    """One source for a claim: ``quote == original_text_of(doc_id)[start:end]``, byte for byte."""

    marker: int  # the n of "[n]" in Answer.answer
    doc_id: str
    title: str
    source: str | None
    published: str | None
    quote: str
    start: int
    end: int
    score: float


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """The answer record returned by every interface.

    Invariants: every ``[n]`` in ``answer`` has a citation with marker n and every citation is
    used; a non-abstention has at least one citation; an abstention has none.
    """

    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    mode: Mode
    short_answer: str | None = None
    fallback_reason: str | None = None
    standalone_question: str | None = None  # the question answered: a follow-up made standalone


class DocumentInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A document's metadata as listed by the service (no text)."""

    doc_id: str
    title: str
    source: str | None
    published: str | None
    chars: int
    chunks: int
    dropped: int  # furniture spans kept out of the index
    duplicate_of: str | None = None  # the earlier document this one nearly copies (qa.dedupe)
    injections: int = 0  # spans addressed to an assistant/reader (instructions, not news), kept out


class DocumentText(msgspec.Struct, frozen=True, kw_only=True):
    """One document as the API returns it: metadata and the original text citations point into."""

    doc_id: str
    title: str
    source: str | None
    published: str | None
    text: str  # text[start:end] of any citation of this document is its quote
    url: str | None = None
    author: str | None = None


# YYYY-MM-DD; a blank string means "not known", like null
_DATE_OR_BLANK = [{"type": "string", "format": "date"}, {"type": "string", "pattern": r"^\s*$"},
                  {"type": "null"}]


# "Has a character that is not whitespace" as Python's str.split() sees it: JSON Schema's \S
# disagrees on a few characters (U+0085, U+001C-U+001F, U+FEFF), so they are spelled out.
NOT_BLANK = "[^" + "".join(f"\\u{c:04x}" for c in range(0x3001) if chr(c).isspace()) + "]"


def _documented(**schema: object) -> msgspec.Meta:
    """Constraints stated in the OpenAPI schema only: ingestion enforces them with clearer messages."""
    return msgspec.Meta(extra_json_schema={"extra": schema})


class NewDocument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A document sent by an admin to be added or replaced."""

    text: Annotated[str, _documented(min_length=1, pattern=NOT_BLANK)]
    doc_id: Annotated[str, _documented(pattern=r"^[A-Za-z0-9_.-]{1,128}$")] | None = None
    title: str | None = None
    source: str | None = None
    published: Annotated[str, _documented(one_of=_DATE_OR_BLANK)] | None = None
    url: str | None = None
    author: str | None = None


class StreamEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a streamed answer: sources, delta, citation, done or error."""

    event: Literal["sources", "delta", "citation", "done", "error"]
    data: object  # list[Passage] | {"text": str} | Citation | Answer | {"message": str}
