"""Ingest with each token through the encoder once: rules, split and tag, encode sentences, derive the rest.

``prepare`` needs no encoder: the furniture rules, the instructions to the reader, and spaCy over the
kept paragraphs of a whole batch of documents in one ``nlp.pipe`` (so it can run on a worker thread
while the encoder works on the batch before). ``embed_prepared`` sends each sentence through the
encoder once; the furniture's content check reads block openings pooled from those tokens, and each
chunk's vector is pooled from its sentences' tokens (``embeddings/pooling.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from spacy.language import Language

from embeddings.chunking import MAX_CHUNK_CHARS, Parsed, parse_all, process_document
from embeddings.cleaning import (
    EMBED_CHARS,
    Block,
    check_content,
    content_checked,
    furniture_spans,
    rule_reasons_all,
)
from embeddings.encoder import TokenEncoder
from embeddings.index import DocVectors
from embeddings.injection import find_injections
from embeddings.pooling import DocTokens, sentence_vector
from embeddings.records import Document, DroppedSpan, ProcessedDocument

__all__ = ["Prepared", "embed_prepared", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """A batch of documents split and tagged, before anything is encoded."""

    docs: Sequence[Document]
    blocks_of: list[list[Block]]
    reasons_of: list[list[str | None]]
    injections_of: list[list[DroppedSpan]]
    parsed: list[Parsed]
    nlp: Language


def prepare(docs: Sequence[Document], nlp: Language) -> Prepared:
    """Furniture by rule, instructions to the reader, and the sentences of what they leave."""
    blocks_of, reasons_of = rule_reasons_all(docs)
    injections_of = [find_injections(doc) for doc in docs]
    dropped_of = [
        [*furniture_spans(doc, blocks, reasons), *injections]
        for doc, blocks, reasons, injections in zip(docs, blocks_of, reasons_of, injections_of, strict=True)
    ]
    return Prepared(docs=docs, blocks_of=blocks_of, reasons_of=reasons_of, injections_of=injections_of,
                    parsed=parse_all(docs, dropped_of, nlp), nlp=nlp)


def _timed(stages: dict[str, float], name: str, began: float) -> float:
    now = time.perf_counter()
    stages[name] = stages.get(name, 0.0) + now - began
    return now


def embed_prepared(
    prepared: Prepared, encoder: TokenEncoder, stages: dict[str, float] | None = None,
    max_chars: int = MAX_CHUNK_CHARS,
) -> list[tuple[ProcessedDocument, DocVectors]]:
    """Encode each sentence once, finish the furniture check, pack chunks and pool their vectors."""
    stages = {} if stages is None else stages
    began = time.perf_counter()
    sentences_of = [[s for unit in sorted(parsed) for s in parsed[unit]] for parsed in prepared.parsed]
    tokens = iter(encoder.encode_tokens([s.text for sentences in sentences_of for s in sentences]))
    banks, own = [], []
    for sentences in sentences_of:
        mine = [(s, next(tokens)) for s in sentences]
        banks.append(DocTokens(encoder.dimension, [(s.start, tv) for s, tv in mine]))
        own.append({(s.start, s.end): sentence_vector(tv) for s, tv in mine})
    began = _timed(stages, "encode", began)
    for blocks, reasons, bank in zip(prepared.blocks_of, prepared.reasons_of, banks, strict=True):
        kept = content_checked(reasons)
        if kept:
            spans = [(blocks[i].start, min(blocks[i].end, blocks[i].start + EMBED_CHARS)) for i in kept]
            check_content(blocks, reasons, _pooled(bank, spans, [blocks[i].text[:EMBED_CHARS] for i in kept],
                                                   encoder))
    began = _timed(stages, "furniture check", began)
    out = []
    for doc, blocks, reasons, injections, parsed, bank, vectors in zip(
        prepared.docs, prepared.blocks_of, prepared.reasons_of, prepared.injections_of, prepared.parsed,
        banks, own, strict=True,
    ):
        dropped = [*furniture_spans(doc, blocks, reasons), *injections]
        processed = process_document(doc, dropped, prepared.nlp, max_chars, parsed)
        sentences = [vectors[(s.start, s.end)] for c in processed.chunks for s in c.sentences]
        chunks = _pooled(bank, [(c.start, c.end) for c in processed.chunks],
                         [c.text for c in processed.chunks], encoder)
        out.append((processed, DocVectors(
            chunks=chunks,
            sentences=np.stack(sentences) if sentences else np.zeros((0, encoder.dimension), np.float32),
        )))
    _timed(stages, "chunk+pool", began)
    return out


def _pooled(
    bank: DocTokens, spans: Sequence[tuple[int, int]], texts: Sequence[str], encoder: TokenEncoder
) -> np.ndarray:
    """The pooled vector of each span; a span with no encoded token in it is encoded on its own."""
    out = np.zeros((len(spans), encoder.dimension), dtype=np.float32)
    missing = []
    for row, (start, end) in enumerate(spans):
        vector = bank.pool(start, end)
        if vector is None:
            missing.append(row)
        else:
            out[row] = vector
    if missing:
        out[missing] = encoder.encode([texts[row] for row in missing])
    return out
