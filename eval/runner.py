"""Runs every gold question through the real pipeline (in process or over HTTP) and scores it."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
import msgspec

from eval import metrics
from eval.gold import GoldQuestion, GoldSpan, article_texts, locate, split_of
from qa.records import Answer, Mode, Passage
from qa.text import quotes_exactly

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
        # what the generator wrote, before ask() turns a broken citation into an abstention
        answer, _ = asyncio.run(self.service.draft(question, top_k=top_k, mode=mode))
        return answer

    def retrieve(self, question: str, top_k: int) -> list[Passage]:
        return list(self.service.retrieve(question, top_k).passages)

    def text_of(self, doc_id: str) -> str | None:
        doc = self.service.store.document(doc_id)
        return doc.text if doc else None


RATE_LIMIT_RETRIES = 8
MAX_RETRY_AFTER = 120.0  # seconds; a longer wait is capped, not trusted


def retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); 1 s if absent."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 1.0
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class HttpBackend:
    """Questions sent to a running server (POST /v1/ask, GET /v1/search); texts from the articles."""

    def __init__(
        self, url: str, seeds_dir: Path, default_k: int, *, timeout: float = 120.0,
        client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.default_k = default_k  # the server's own default is not visible from outside
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))
        self.texts = article_texts(seeds_dir)
        self.sleep = sleep
        self.waited = 0.0  # seconds spent waiting out 429s

    def _send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """One request; a 429 is waited out for its Retry-After (a few times) before it counts."""
        for _ in range(RATE_LIMIT_RETRIES):
            response = self.client.request(method, f"{self.url}{path}", **kwargs)  # type: ignore[arg-type]
            if response.status_code != 429:
                break
            delay = retry_after(response.headers.get("Retry-After"))
            self.waited += delay
            self.sleep(delay)
        response.raise_for_status()
        return response

    def ask(self, question: str, top_k: int | None, mode: Mode | None) -> Answer:
        body: dict[str, object] = {"question": question}
        if top_k is not None:
            body["top_k"] = top_k
        if mode is not None:
            body["mode"] = mode
        response = self._send("POST", "/v1/ask", json=body)
        return msgspec.convert(response.json(), Answer)

    def retrieve(self, question: str, top_k: int) -> list[Passage]:
        params: dict[str, str | int] = {"q": question, "k": top_k}
        response = self._send("GET", "/v1/search", params=params)
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
    corpus: str = "seeds"
    split: str = "dev"
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
    safety_net: bool = False  # the service replaced an answer that broke the citation invariants
    passed: bool = False
    why: list[str] = msgspec.field(default_factory=list)


Progress = Callable[[int, int, QuestionResult], None]
SAFETY_NET_REASON = "invariant_violation"  # fallback_reason of QAService._checked's rewrite


def check_citations(
    answer: Answer, text_of: Callable[[str], str | None], spans: Sequence[GoldSpan]
) -> list[CitationResult]:
    """Each citation checked byte-for-byte against its document and against the gold spans."""
    out = []
    for c in answer.citations:
        valid = quotes_exactly(text_of(c.doc_id), c.start, c.end, c.quote)
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
    # the service turns an answer with a broken citation into an abstention; that rewrite must
    # not pass as a correct refusal, so the broken answer is scored as what it was
    safety_net = answer.fallback_reason == SAFETY_NET_REASON
    if safety_net:
        why.append("broke the citation invariants (the service's safety net replaced the answer)")
    base = dict(
        id=gold.id, category=gold.category, question=gold.question,
        must_abstain=gold.must_abstain, corpus=gold.corpus, split=gold.split or split_of(gold.id),
        answer=answer.answer, short_answer=answer.short_answer,
        abstained=answer.abstained, mode=answer.mode, fallback_reason=answer.fallback_reason,
        citations=citations, latency=latency, safety_net=safety_net,
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
            must_abstain=gold.must_abstain, corpus=gold.corpus,
            split=gold.split or split_of(gold.id),
            error=f"{type(exc).__name__}: {exc}",
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
