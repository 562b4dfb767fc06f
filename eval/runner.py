"""Runs every gold question through the real pipeline (in process or over HTTP) and scores it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
import msgspec

from eval import metrics
from eval.gold import GoldQuestion, GoldSpan, article_texts, locate
from qa.records import Answer, Mode, Passage

if TYPE_CHECKING:  # importing the service loads torch; --url runs must not need it
    from qa.service import QAService


class Backend(Protocol):
    """Where questions go: the in-process service or a running server."""

    default_k: int  # passages per question when --top-k is not given

    def ask(self, question: str, top_k: int | None, mode: Mode | None) -> Answer: ...

    def retrieve(self, question: str, top_k: int) -> list[Passage]: ...

    def text_of(self, doc_id: str) -> str | None: ...


class ServiceBackend:
    """Questions answered by a ``QAService`` in this process; texts are the service's documents."""

    def __init__(self, service: QAService) -> None:
        self.service = service
        self.default_k = service.settings.retrieval.top_k

    def ask(self, question: str, top_k: int | None, mode: Mode | None) -> Answer:
        return self.service.ask_sync(question, top_k=top_k, mode=mode)

    def retrieve(self, question: str, top_k: int) -> list[Passage]:
        return list(self.service.retrieve(question, top_k).passages)

    def text_of(self, doc_id: str) -> str | None:
        doc = self.service.store.document(doc_id)
        return doc.text if doc else None


class HttpBackend:
    """Questions sent to a running server (POST /v1/ask, GET /v1/search); texts from the articles."""

    def __init__(
        self, url: str, seeds_dir: Path, default_k: int, *, timeout: float = 120.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.default_k = default_k  # the server's own default is not visible from outside
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))
        self.texts = article_texts(seeds_dir)

    def ask(self, question: str, top_k: int | None, mode: Mode | None) -> Answer:
        body: dict[str, object] = {"question": question}
        if top_k is not None:
            body["top_k"] = top_k
        if mode is not None:
            body["mode"] = mode
        response = self.client.post(f"{self.url}/v1/ask", json=body)
        response.raise_for_status()
        return msgspec.convert(response.json(), Answer)

    def retrieve(self, question: str, top_k: int) -> list[Passage]:
        params: dict[str, str | int] = {"q": question, "k": top_k}
        response = self.client.get(f"{self.url}/v1/search", params=params)
        response.raise_for_status()
        return msgspec.convert(response.json(), list[Passage])

    def text_of(self, doc_id: str) -> str | None:
        return self.texts.get(doc_id)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


class CitationResult(msgspec.Struct, frozen=True, kw_only=True):
    """One citation of an answer, checked against the source text and the gold spans."""

    marker: int
    doc_id: str
    start: int
    end: int
    quote: str
    valid: bool  # quote == text[start:end]
    supported: bool  # overlaps a gold evidence span


class QuestionResult(msgspec.Struct, frozen=True, kw_only=True):
    """Everything measured for one gold question."""

    id: str
    category: str
    question: str
    must_abstain: bool
    answer: str = ""
    short_answer: str | None = None
    abstained: bool = False
    mode: str | None = None
    fallback_reason: str | None = None
    citations: list[CitationResult] = msgspec.field(default_factory=list)
    answer_recall: float | None = None
    token_f1: float | None = None
    missing: list[str] = msgspec.field(default_factory=list)  # first alias of each missing item
    retrieval_recall: float | None = None
    reciprocal_rank: float | None = None
    latency: float | None = None
    error: str | None = None
    passed: bool = False
    why: list[str] = msgspec.field(default_factory=list)


Progress = Callable[[int, int, QuestionResult], None]


def check_citations(
    answer: Answer, text_of: Callable[[str], str | None], spans: Sequence[GoldSpan]
) -> list[CitationResult]:
    """Each citation checked byte-for-byte against its document and against the gold spans."""
    out = []
    for c in answer.citations:
        text = text_of(c.doc_id)
        valid = text is not None and 0 <= c.start < c.end <= len(text) and (
            text[c.start:c.end] == c.quote
        )
        out.append(CitationResult(
            marker=c.marker, doc_id=c.doc_id, start=c.start, end=c.end, quote=c.quote,
            valid=valid, supported=metrics.hits_gold(c.doc_id, c.start, c.end, spans),
        ))
    return out


def score(
    gold: GoldQuestion, answer: Answer, passages: Sequence[Passage], spans: Sequence[GoldSpan],
    text_of: Callable[[str], str | None], latency: float,
) -> QuestionResult:
    """Score one answer (and the passages retrieved for its question) against the gold."""
    citations = check_citations(answer, text_of, spans)
    text = f"{answer.answer} {answer.short_answer or ''}"
    why: list[str] = []
    invalid = [c.marker for c in citations if not c.valid]
    if invalid:
        why.append(f"invalid citation(s) {invalid}")
    base = dict(
        id=gold.id, category=gold.category, question=gold.question,
        must_abstain=gold.must_abstain, answer=answer.answer, short_answer=answer.short_answer,
        abstained=answer.abstained, mode=answer.mode, fallback_reason=answer.fallback_reason,
        citations=citations, latency=latency,
    )
    if gold.must_abstain:
        if not answer.abstained:
            why.append("answered a question the articles do not answer")
        return QuestionResult(**base, passed=not why, why=why)  # type: ignore[arg-type]
    ranked = [(p.doc_id, p.start, p.end) for p in passages]
    missing = metrics.missing_items(text, gold.answers)
    if answer.abstained:
        why.append("abstained")
    else:
        if missing:
            why.append("missing " + ", ".join(_aliases(item) for item in missing))
        if not any(c.supported for c in citations):
            why.append("no citation overlaps the gold evidence")
    return QuestionResult(
        **base,  # type: ignore[arg-type]
        answer_recall=metrics.answer_recall(text, gold.answers),
        token_f1=metrics.best_alias_f1(answer.short_answer or answer.answer, gold.answers),
        missing=[item[0] for item in missing],
        retrieval_recall=metrics.recall_at_k(ranked, spans),
        reciprocal_rank=metrics.reciprocal_rank(ranked, spans),
        passed=not why, why=why,
    )


def _aliases(item: Sequence[str], shown: int = 3) -> str:
    more = "/..." if len(item) > shown else ""
    return "/".join(repr(alias) for alias in item[:shown]) + more


def run_question(
    gold: GoldQuestion, backend: Backend, spans: Sequence[GoldSpan], top_k: int | None,
    mode: Mode | None,
) -> QuestionResult:
    """Ask one question, retrieve its passages and score both; failures become failed results."""
    try:
        started = time.perf_counter()
        answer = backend.ask(gold.question, top_k, mode)
        latency = time.perf_counter() - started
        k = top_k or backend.default_k
        passages = [] if gold.must_abstain else backend.retrieve(gold.question, k)[:k]
    except Exception as exc:  # a pipeline crash is a failed, named question, not a dead eval run
        return QuestionResult(
            id=gold.id, category=gold.category, question=gold.question,
            must_abstain=gold.must_abstain, error=f"{type(exc).__name__}: {exc}",
            why=[f"error: {type(exc).__name__}: {exc}"],
        )
    return score(gold, answer, passages, spans, backend.text_of, latency)


def run_eval(
    questions: Sequence[GoldQuestion], backend: Backend, *, top_k: int | None = None,
    mode: Mode | None = None, progress: Progress | None = None,
) -> list[QuestionResult]:
    """Run every question through the backend, in order; GoldError if a quote is not in the corpus."""
    spans = locate(list(questions), backend.text_of)
    results = []
    for i, gold in enumerate(questions, 1):
        result = run_question(gold, backend, spans[gold.id], top_k, mode)
        results.append(result)
        if progress:
            progress(i, len(questions), result)
    return results
