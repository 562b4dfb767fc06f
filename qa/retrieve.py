"""Hybrid retrieval: dense (chunks and sentences, FAISS) and sparse (BM25) fused by reciprocal rank,
then sentence scoring."""

from __future__ import annotations

import numpy as np

from embeddings.encoder import Encoder
from embeddings.index import CorpusIndex
from qa.generator import NoReranker, Reranker
from qa.records import Evidence, Passage, Question, ScoredSentence
from qa.settings import RetrievalSettings

# Sentence score = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * IDF-weighted term coverage.
DENSE_WEIGHT = 0.55


def fuse(rankings: list[list[int]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion of several ranked id lists."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank + 1)
    return fused


def dense_ranking(index: CorpusIndex, query: np.ndarray, n: int) -> list[int]:
    """Chunk ids by cosine similarity to the query vector."""
    if not index.chunks:
        return []
    _, ids = index.dense.search(query[None, :], min(n, len(index.chunks)))
    return [int(i) for i in ids[0] if i >= 0]


def sentence_ranking(index: CorpusIndex, query: np.ndarray, n: int) -> list[int]:
    """Chunk ids by their best sentence's cosine similarity to the query vector."""
    if not index.sentences:
        return []
    _, ids = index.sentence_dense.search(query[None, :], min(3 * n, len(index.sentences)))
    chunks = (int(index.sentence_chunk[i]) for i in ids[0] if i >= 0)
    return list(dict.fromkeys(chunks))[:n]


def sparse_ranking(index: CorpusIndex, text: str, n: int) -> list[int]:
    """Chunk ids by BM25 score (only chunks sharing at least one term)."""
    if index.sparse is None:
        return []
    ids = index.tokenizer.tokenize([text], update_vocab=False, return_as="ids", show_progress=False)
    if not ids or not ids[0]:
        return []
    docs, scores = index.sparse.retrieve(
        ids, k=min(n, len(index.chunks)), show_progress=False, n_threads=0  # 0: inline, no pool per call
    )
    return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def term_weights(index: CorpusIndex, question: Question) -> dict[str, float]:
    """IDF of each question term (a term the corpus lacks weighs as much as its rarest)."""
    default = max(index.idf.values(), default=1.0)
    return {t: index.idf.get(t, default) for t in sorted(set(question.terms))}


def term_coverage(weights: dict[str, float], terms: frozenset[str]) -> float:
    """Share of the question's IDF weight whose terms occur in ``terms``."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0


def retrieve(
    index: CorpusIndex,
    encoder: Encoder,
    question: Question,
    top_k: int,
    settings: RetrievalSettings,
    query_vector: np.ndarray | None = None,
    context: str | None = None,
    skip: frozenset[int] = frozenset(),
    reranker: Reranker | None = None,
) -> Evidence:
    """Top passages for a question, and their sentences scored against it, best first.

    ``context`` (the first part of a compound question) is added to what is searched for, not to
    what the question asks. Chunk ids in ``skip`` (near-duplicate copies, qa.dedupe) are left out.
    The ``reranker`` reorders the fused candidates before the top ``top_k`` are kept and scored.
    """
    text = f"{question.text} {context}" if context else question.text
    query = encoder.encode([text])[0] if query_vector is None else query_vector
    rankings = [dense_ranking(index, query, settings.candidates),
                sentence_ranking(index, query, settings.candidates),
                sparse_ranking(index, text, settings.candidates)]
    fused = fuse([[c for c in ranking if c not in skip] for ranking in rankings], settings.rrf_k)
    ordered = sorted(fused, key=lambda c: (-fused[c], c))
    candidates = [_passage(index, c, fused[c]) for c in ordered]
    chunk_of = {(p.doc_id, p.start): c for p, c in zip(candidates, ordered, strict=True)}
    chosen = (reranker or NoReranker()).rerank(question, candidates)[:top_k]
    return score_sentences(index, question, query, [(p, chunk_of[p.doc_id, p.start]) for p in chosen])


def _passage(index: CorpusIndex, chunk_id: int, score: float) -> Passage:
    chunk = index.chunks[chunk_id]
    doc = index.processed[chunk.doc_id].document
    return Passage(
        doc_id=doc.doc_id, title=doc.title, source=doc.source, published=doc.published,
        text=chunk.text, start=chunk.start, end=chunk.end, score=round(score, 6),
    )


def score_sentences(
    index: CorpusIndex, question: Question, query: np.ndarray, ranked: list[tuple[Passage, int]]
) -> Evidence:
    """The Evidence of the chosen passages (with their chunk ids): their sentences scored, best first."""
    passages = [p for p, _ in ranked]
    scored: list[ScoredSentence] = []
    weights = term_weights(index, question)
    passage_terms: list[frozenset[str]] = []
    for position, (_, chunk_id) in enumerate(ranked):
        sentence_ids = index.chunk_sentences[chunk_id]
        passage_terms.append(frozenset().union(*(index.sentence_terms[i] for i in sentence_ids)))
        if not len(sentence_ids):
            continue
        cosines = index.sentence_vectors[sentence_ids.start:sentence_ids.stop] @ query
        for offset, sid in enumerate(sentence_ids):
            coverage = term_coverage(weights, index.sentence_terms[sid])
            score = DENSE_WEIGHT * float(cosines[offset]) + (1 - DENSE_WEIGHT) * coverage
            scored.append(ScoredSentence(
                sentence=index.sentences[sid], passage=position, score=round(score, 6),
                similarity=round(float(cosines[offset]), 6), coverage=round(coverage, 6),
            ))
    scored.sort(key=lambda s: (-s.score, s.sentence.doc_id, s.sentence.start))
    known = sorted({t for t in question.terms if t in index.idf}, key=lambda t: (-index.idf[t], t))
    return Evidence(
        question=question.text, passages=tuple(passages), sentences=tuple(scored),
        focus=tuple(known), passage_terms=tuple(passage_terms), parsed=question,
    )


def merge_evidence(question: str, parts: list[Evidence]) -> Evidence:
    """One Evidence for a compound question: the union of its parts' passages and sentences."""
    passages: list[Passage] = []
    terms: list[frozenset[str]] = []
    where: dict[tuple[str, int, int], int] = {}
    best: dict[tuple[str, int], ScoredSentence] = {}
    for part in parts:
        remap: dict[int, int] = {}
        for i, p in enumerate(part.passages):
            key = (p.doc_id, p.start, p.end)
            if key not in where:
                where[key] = len(passages)
                passages.append(p)
                terms.append(part.passage_terms[i] if i < len(part.passage_terms) else frozenset())
            remap[i] = where[key]
        for s in part.sentences:
            moved = ScoredSentence(
                sentence=s.sentence, passage=remap[s.passage], score=s.score,
                similarity=s.similarity, coverage=s.coverage,
            )
            key2 = (s.sentence.doc_id, s.sentence.start)
            if key2 not in best or best[key2].score < moved.score:
                best[key2] = moved
    sentences = sorted(best.values(), key=lambda s: (-s.score, s.sentence.doc_id, s.sentence.start))
    focus = tuple(dict.fromkeys(t for part in parts for t in part.focus))
    return Evidence(
        question=question, passages=tuple(passages), sentences=tuple(sentences), focus=focus,
        passage_terms=tuple(terms),
        parts=tuple(parts),
    )
