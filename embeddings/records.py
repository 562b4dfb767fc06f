"""Index-time records: Document -> (DroppedSpan, Sentence) -> Chunk.

Every offset is a character offset into ``Document.text``, the original text, which is never
rewritten: ``document.text[start:end]`` is exactly the span a record describes.
"""

from __future__ import annotations

import msgspec


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """One article as loaded: metadata plus its original, untouched text."""

    doc_id: str
    title: str
    source: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    text: str
    url: str | None = None  # where the article was published (HTML pages, feeds, exports)
    author: str | None = None


class DroppedSpan(msgspec.Struct, frozen=True, kw_only=True):
    """A span kept out of the index: page furniture (newsletter block, caption, unrelated headlines)
    or text addressed to the reader instead of reporting news (reason "injection")."""

    doc_id: str
    start: int
    end: int
    reason: str  # short machine-readable reason, e.g. "newsletter", "caption", "off-topic", "injection"
    text: str  # == document.text[start:end]


class Entity(msgspec.Struct, frozen=True, kw_only=True):
    """A named entity found at index time (spaCy label: PERSON, ORG, GPE, DATE, CARDINAL, ...)."""

    label: str
    text: str
    start: int
    end: int


class DateMention(msgspec.Struct, frozen=True, kw_only=True):
    """A date expression and, where possible, the calendar date it means.

    ``resolved`` is ISO ``YYYY-MM-DD`` (or ``YYYY-MM`` / ``YYYY`` when only that is known, or an
    ISO interval ``YYYY-MM-DD/YYYY-MM-DD`` for a span such as "last week" or "over the weekend"),
    resolved against the document's publication date for relative forms ("on Thursday",
    "a week ago", "yesterday"); None when it cannot be resolved.
    """

    text: str
    start: int
    end: int
    resolved: str | None = None


class Sentence(msgspec.Struct, frozen=True, kw_only=True):
    """One sentence of indexable text, tagged once at index time."""

    doc_id: str
    start: int
    end: int
    text: str  # == document.text[start:end]
    entities: tuple[Entity, ...] = ()
    dates: tuple[DateMention, ...] = ()
    numbers: tuple[str, ...] = ()  # numeric expressions as written: "2,000", "1,400", "500 million"


class Chunk(msgspec.Struct, frozen=True, kw_only=True):
    """A run of consecutive sentences of one document; chunks of a document never overlap."""

    doc_id: str
    start: int  # == sentences[0].start
    end: int  # == sentences[-1].end
    text: str  # == document.text[start:end]
    sentences: tuple[Sentence, ...]


class ProcessedDocument(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ingestion knows about one document, before embedding."""

    document: Document
    dropped: tuple[DroppedSpan, ...]
    chunks: tuple[Chunk, ...]
