"""Hybrid retrieval: dense (chunks and sentences, FAISS) and sparse (BM25) fused by reciprocal rank,
then sentence scoring."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from embeddings.encoder import Encoder
from embeddings.store import SENTENCE_SLOTS, Store, StoredChunk
from qa.generator import NoReranker, Reranker
from qa.records import Evidence, Passage, Question, ScoredSentence
from qa.settings import RetrievalSettings

_LEGS = ThreadPoolExecutor(2, thread_name_prefix="retrieval-leg")  # shared by every question

# Sentence score = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * IDF-weighted term coverage.
DENSE_WEIGHT = 0.55
NAMED_EACH = 2  # candidates kept for each name of "A and B" from its own search


def fuse(rankings: list[list[int]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion of several ranked id lists."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank + 1)
    return fused


def dense_ranking(index: Store, query: np.ndarray, n: int) -> list[int]:
    """Chunk keys by cosine similarity to the query vector."""
    return index.search_dense(query, n)


def sentence_ranking(index: Store, query: np.ndarray, n: int) -> list[int]:
    """Chunk keys by their best sentence's cosine similarity to the query vector."""
    chunks = (i // SENTENCE_SLOTS for i in index.search_sentences(query, 3 * n))
    return list(dict.fromkeys(chunks))[:n]


def sparse_ranking(index: Store, text: str, n: int) -> list[int]:
    """Chunk keys by BM25 score (only chunks sharing at least one term)."""
    return index.search_sparse(text, n)


def term_weights(idf: dict[str, float], question: Question) -> dict[str, float]:
    """IDF of each question term (a term the corpus lacks weighs as much as its rarest); the referents
    a follow-up carried along share one term's weight, as the question is about one of them."""
    default = max(idf.values(), default=1.0)
    share = 1 / max(1, len(question.carried))
    return {t: idf.get(t, default) * (share if t in question.carried else 1.0)
            for t in sorted(set(question.terms))}


def term_coverage(weights: dict[str, float], terms: frozenset[str]) -> float:
    """Share of the question's IDF weight whose terms occur in ``terms``."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0


def retrieve(
    index: Store,
    encoder: Encoder,
    question: Question,
    top_k: int,
    settings: RetrievalSettings,
    query_vector: np.ndarray | None = None,
    context: str | None = None,
    reranker: Reranker | None = None,
    variants: tuple[str, ...] = (),
) -> Evidence:
    """Top passages for a question, and their sentences scored against it, best first.

    ``context`` (the first part of a compound question) is added to what is searched for, not to
    what the question asks. Chunks made only of a near-duplicate copy's sentences are left out.
    The ``reranker`` reorders the fused candidates before the top ``top_k`` are kept and scored.
    ``variants`` (the question asked of each of its coordinated names) are searched for too, so each
    name's own articles are among the candidates; sentences are scored against the question itself.
    """
    text = f"{question.text} {context}" if context else question.text
    query = encoder.encode([text])[0] if query_vector is None else query_vector
    searched = [(text, query)]
    if variants:
        searched += list(zip(variants, encoder.encode(list(variants)), strict=True))
    searches: list[list[list[int]]] = []
    for said, vector in searched:
        # the two dense legs search on other threads (FAISS lets go of the GIL) while BM25 scores here
        legs = [_LEGS.submit(leg, index, vector, settings.candidates)
                for leg in (dense_ranking, sentence_ranking)]
        sparse = sparse_ranking(index, said, settings.candidates)
        searches.append([legs[0].result(), legs[1].result(), sparse])
    rankings = [ranking for legs_of in searches for ranking in legs_of]
    skip = index.hidden(list({c for ranking in rankings for c in ranking}))
    fused = fuse([[c for c in ranking if c not in skip] for ranking in rankings], settings.rrf_k)
    ordered = sorted(fused, key=lambda c: (-fused[c], c))
    # each name's own best candidates stay among the top_k, however the other names' searches rank them
    firsts = [c for legs_of in searches[1:]
              for c in _best(fuse([[c for c in r if c not in skip] for r in legs_of], settings.rrf_k))]
    ordered = with_each(ordered, firsts, top_k)
    reranker = reranker or NoReranker()
    # the fused order as it is needs only its first top_k stored chunks read, not every candidate
    stored = first_stored(index, ordered, top_k) if type(reranker) is NoReranker else index.chunks(ordered)
    candidates = [_passage(s, fused[s.key]) for s in stored]
    chunk_of = {(p.doc_id, p.start): s for p, s in zip(candidates, stored, strict=True)}
    chosen = reranker.rerank(question, candidates)[:top_k]
    return score_sentences(index, question, query, [(p, chunk_of[p.doc_id, p.start]) for p in chosen])


def _best(fused: dict[int, float]) -> list[int]:
    return sorted(fused, key=lambda c: (-fused[c], c))[:NAMED_EACH]


def with_each(ordered: list[int], firsts: list[int], n: int) -> list[int]:
    """``ordered`` with each of ``firsts`` among its first ``n``, in place of the last of the others."""
    missing = [c for c in dict.fromkeys(firsts) if c not in ordered[:n]]
    if not missing:
        return ordered
    rest = [c for c in ordered if c not in missing]
    keep = max(0, n - len(missing))
    return rest[:keep] + missing + rest[keep:]


def first_stored(index: Store, keys: list[int], n: int) -> list[StoredChunk]:
    """The first ``n`` chunks of ``keys`` still stored, in that order (as ``index.chunks(keys)[:n]``)."""
    found: list[StoredChunk] = []
    at = 0
    while len(found) < n and at < len(keys):
        batch = keys[at:at + n - len(found)]
        found += index.chunks(batch)
        at += len(batch)
    return found


def _passage(stored: StoredChunk, score: float) -> Passage:
    chunk = stored.chunk
    return Passage(
        doc_id=chunk.doc_id, title=stored.title, source=stored.source, published=stored.published,
        text=chunk.text, start=chunk.start, end=chunk.end, score=round(score, 6),
    )


def score_sentences(
    index: Store, question: Question, query: np.ndarray, ranked: list[tuple[Passage, StoredChunk]]
) -> Evidence:
    """The Evidence of the chosen passages (with their chunks): their sentences scored, best first."""
    passages = [p for p, _ in ranked]
    scored: list[ScoredSentence] = []
    idf = index.term_idf()
    weights = term_weights(idf, question)
    passage_terms: list[frozenset[str]] = []
    for position, (_, stored) in enumerate(ranked):
        chunk = stored.chunk
        passage_terms.append(frozenset().union(*stored.sentence_terms))
        if not chunk.sentences:
            continue
        cosines = stored.sentence_vectors @ query
        for offset, sentence in enumerate(chunk.sentences):
            coverage = term_coverage(weights, stored.sentence_terms[offset])
            score = DENSE_WEIGHT * float(cosines[offset]) + (1 - DENSE_WEIGHT) * coverage
            scored.append(ScoredSentence(
                sentence=sentence, passage=position, score=round(score, 6),
                similarity=round(float(cosines[offset]), 6), coverage=round(coverage, 6),
            ))
    scored.sort(key=lambda s: (-s.score, s.sentence.doc_id, s.sentence.start))
    known = sorted({t for t in question.terms if t in idf}, key=lambda t: (-idf[t], t))
    if question.carried:
        # a follow-up is about what it asks ("how many soldiers died there") more than about the
        # referents it carried along, unless it says little of its own ("when did that happen")
        said = frozenset().union(*passage_terms)
        if len(set(question.terms) - set(question.carried)) > 1:
            known.sort(key=lambda t: t in question.carried or t not in said)
        else:
            known.sort(key=lambda t: t not in question.carried)
    return Evidence(
        question=question.text, passages=tuple(passages), sentences=tuple(scored),
        focus=tuple(known), passage_terms=tuple(passage_terms), parsed=question,
        term_weights=tuple(weights.items()),
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
