"""QAService: the one facade over the pipeline used by the CLI, the HTTP app and the eval suite."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from embeddings.documents import load_documents, make_document
from embeddings.encoder import Encoder, default_encoder
from embeddings.records import Document
from embeddings.store import DocumentSummary, Store, open_store
from qa import llm_runtime, metrics, writer
from qa.answer import ExtractiveGenerator
from qa.dedupe import distinct
from qa.errors import DocumentNotFound, DocumentTooLarge, IndexNotFound, InvalidQuestion
from qa.followup import Turn, checked_history, resolved_in_place, standalone_chain
from qa.generator import Generator, NoReranker, Reranker
from qa.question import one_name_each, parse_question, split_question
from qa.records import (
    Answer,
    DocumentInfo,
    DocumentText,
    Evidence,
    Mode,
    NewDocument,
    Passage,
    StreamEvent,
)
from qa.retrieve import merge_evidence, retrieve
from qa.settings import Settings
from qa.verify import abstain, invariant_violations

__all__ = ["FALLBACK_MODE", "GENERATORS", "MAX_TOP_K", "ModeEntry", "QAService"]

log = logging.getLogger("qa.service")
MAX_TOP_K = 20


def _always(settings: Settings) -> str | None:
    return None


@dataclass(frozen=True)
class ModeEntry:
    """How to make a mode's generator, and why the settings or the runtime cannot have it now."""

    make: Callable[[QAService], Generator]
    unavailable: Callable[[Settings], str | None] = _always  # None: available


def _llm_base_url(settings: Settings) -> str | None:
    """The configured server, else the bundled model's once it answers."""
    bundled = llm_runtime.current()
    return settings.generator.llm_base_url or (bundled.base_url if bundled else None)


def _llm_unavailable(settings: Settings) -> str | None:
    if not settings.generator.llm_enabled:
        return "llm_off"
    if _llm_base_url(settings):
        return None
    bundled = llm_runtime.current()
    # still loading, or failed: the answer says which
    return f"llm_{bundled.status}" if bundled is not None else "llm_not_configured"


def _make_llm(service: QAService) -> Generator:
    from dataclasses import replace

    from qa.llm import LLMGenerator

    fallback, _ = service.generator(FALLBACK_MODE)
    gen = replace(service.settings.generator, llm_base_url=_llm_base_url(service.settings))
    return LLMGenerator(gen, service.http_client(), service.encoder, fallback=fallback)


# The one registry of answer modes (qa.records.Mode): a question asked in a mode the settings do not
# configure is answered in FALLBACK_MODE, and its fallback_reason says so.
GENERATORS: dict[Mode, ModeEntry] = {
    "extractive": ModeEntry(make=lambda service: ExtractiveGenerator()),
    "llm": ModeEntry(make=_make_llm, unavailable=_llm_unavailable),
}
FALLBACK_MODE: Mode = "extractive"


class QAService:
    """Answers questions over the current corpus snapshot and applies document updates atomically."""

    def __init__(
        self, settings: Settings, store: Store, encoder: Encoder, reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.reranker = reranker or NoReranker()
        self.store = store
        self._write_lock = threading.Lock()
        self._http: httpx.AsyncClient | None = None
        self._generators: dict[Mode, Generator] = {}

    @classmethod
    def open(cls, settings: Settings | None = None, encoder: Encoder | None = None) -> QAService:
        """Open the store (IndexProblem if it is missing, empty or built with another model)."""
        settings = settings or Settings.from_env()
        encoder = encoder or default_encoder(settings.index)
        store = open_settings_store(settings, encoder)
        if store.count() == 0:
            store.close()
            raise IndexNotFound(f"No index in {settings.index.data_dir} (no documents in {store.uri}). "
                                "Run `qa index` to add some.")
        return cls(settings, store, encoder)

    @staticmethod
    def build(
        settings: Settings, encoder: Encoder | None = None, progress: writer.Progress | None = None,
        source: Path | None = None, documents: list[Document] | None = None,
    ) -> Store:
        """Write every new or changed document of ``documents`` (default: those in ``source``, else the
        seeds directory) into the store.

        Documents already stored (added through the API or `qa add`) are kept: the store is the one
        source of truth, and the folder only adds to it.
        """
        encoder = encoder or default_encoder(settings.index)
        if documents is None:
            documents = load_documents(source or settings.index.seeds_dir)
        store = open_settings_store(settings, encoder)
        writer.index_documents(store, encoder, documents, progress)
        checkpoint = getattr(store, "checkpoint", None)
        if checkpoint is not None:  # the next process to open the store starts from this
            checkpoint()
        return store

    # --- questions --------------------------------------------------------------------------

    def _clean_question(self, question: str) -> str:
        text = " ".join(question.split())
        if not text:
            raise InvalidQuestion("The question is empty.")
        limit = self.settings.server.max_question_chars
        if len(question) > limit:  # as sent: the limit the API schema states
            raise InvalidQuestion(f"The question is {len(question)} characters long; the limit is {limit}.")
        return text

    def _top_k(self, top_k: int | None) -> int:
        k = self.settings.retrieval.top_k if top_k is None else top_k
        if not 1 <= k <= MAX_TOP_K:
            raise InvalidQuestion(f"top_k must be between 1 and {MAX_TOP_K}, not {k}.")
        return k

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """Scored passages for a query (retrieval only)."""
        return list(self.retrieve(query, k).passages)

    def retrieve(self, question: str, top_k: int | None = None) -> Evidence:
        """Evidence for a question from the store as it is now."""
        return self._retrieve(self._view(), self._clean_question(question), self._top_k(top_k))

    def _view(self) -> Store:
        """One question's view of the store, after catching up with writes by other processes."""
        self.store.refresh()  # `qa index`, `qa add` or another replica may have written
        return self.store.view()

    def _retrieve(self, store: Store, question: str, top_k: int) -> Evidence:
        # the one place a compound question is split; each part is parsed once, here
        parts = split_question(question)
        if len(parts) == 1:
            parsed = parse_question(question)
            # a follow-up's carried referents are one topic, not names asked about one by one
            variants = () if parsed.carried else one_name_each(question)
            evidence = retrieve(store, self.encoder, parsed, top_k, self.settings.retrieval,
                                reranker=self.reranker, variants=variants)
            return distinct(evidence, store)  # near-duplicates count once (qa.dedupe)
        # each part is retrieved on its own; later parts keep the first part as context
        # ("..., and how many were there four days later?")
        found = [
            distinct(retrieve(store, self.encoder, parse_question(part), top_k, self.settings.retrieval,
                              context=parts[0] if i else None, reranker=self.reranker), store)
            for i, part in enumerate(parts)
        ]
        return distinct(merge_evidence(question, found), store)

    def generator(self, mode: Mode | None = None) -> tuple[Generator, str | None]:
        """The generator of ``mode`` (default: the settings'), and why another stands in, if one does."""
        mode = mode or self.settings.generator.mode
        entry = GENERATORS[mode]
        if (reason := entry.unavailable(self.settings)) is not None:
            return self.generator(FALLBACK_MODE)[0], reason
        if mode not in self._generators:
            self._generators[mode] = entry.make(self)
        return self._generators[mode], None

    def http_client(self) -> httpx.AsyncClient:
        """The one HTTP client generators share (opened on first use, closed by ``aclose``)."""
        gen = self.settings.generator
        self._http = self._http or httpx.AsyncClient(
            timeout=httpx.Timeout(gen.llm_timeout, connect=min(5.0, gen.llm_timeout))
        )
        return self._http

    async def draft(
        self, question: str, *, top_k: int | None = None, mode: Mode | None = None
    ) -> tuple[Answer, Store]:
        """The generator's answer before the citation invariants are enforced, and its store view.

        For tests and the eval, which must see what a generator wrote; users get ``ask``.
        """
        question = self._clean_question(question)
        k = self._top_k(top_k)
        snapshot = self._view()  # one version of every document for the whole question
        evidence = await anyio.to_thread.run_sync(self._retrieve, snapshot, question, k)
        generator, reason = self.generator(mode)
        answer = await generator.generate(question, evidence)
        if reason and answer.fallback_reason is None:
            answer = _with_reason(answer, reason)
        return answer, snapshot

    async def standalone(
        self, question: str, history: Sequence[Turn] = (), mode: Mode | None = None
    ) -> str:
        """The question to answer: a follow-up rewritten to stand alone (qa.followup), else as asked."""
        if not history:
            return question
        history = checked_history(history, self.settings.server.max_question_chars)
        rule = await anyio.to_thread.run_sync(standalone_chain, question, history)
        if rule == question:  # it stands alone: left as it is, whatever the model would say
            return question
        gen = self.settings.generator
        # the model only where the rule could not name each referent in place: on the dev
        # dialogues its rewrites were never better there, and sometimes answered instead
        if (mode or gen.mode) == "llm" and gen.llm_base_url and not resolved_in_place(question, rule):
            from qa.followup_llm import llm_standalone

            rewritten = await llm_standalone(self.http_client(), gen, question, history)
            if rewritten:
                same: bool = await anyio.to_thread.run_sync(self._same_grounds, rule, rewritten)
                rule = rewritten if same else rule
        # the user's question was within the limit; what it carried along must not break it
        return rule if len(rule) <= self.settings.server.max_question_chars else question

    def _same_grounds(self, rule: str, rewritten: str) -> bool:
        """True when the model's rewrite finds the material the rule's form finds (qa.followup_llm)."""
        from qa.followup_llm import same_grounds
        from qa.llm import LLM_PASSAGES

        snapshot, k = self._view(), self._top_k(None)
        found = same_grounds(self._retrieve(snapshot, rule, k), self._retrieve(snapshot, rewritten, k),
                             LLM_PASSAGES)
        if not found:
            log.info("the model's rewrite %r finds other passages than %r; using the rule", rewritten, rule)
        return found

    async def ask(
        self, question: str, *, top_k: int | None = None, mode: Mode | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        """Answer a question with verified citations, or abstain."""
        asked = self._clean_question(question)
        standalone = await self.standalone(asked, history, mode)
        answer, snapshot = await self.draft(standalone, top_k=top_k, mode=mode)
        return _as_asked(self._checked(answer, snapshot), asked, standalone)

    def ask_sync(self, question: str, **kwargs: object) -> Answer:
        """``ask`` for synchronous callers (CLI, eval)."""
        return asyncio.run(self.ask(question, **kwargs))  # type: ignore[arg-type]

    async def stream(
        self, question: str, *, top_k: int | None = None, mode: Mode | None = None,
        history: Sequence[Turn] = (),
    ) -> AsyncIterator[StreamEvent]:
        """The answer as events: sources, deltas and citations as confirmed, then done."""
        asked = question = self._clean_question(question)
        k = self._top_k(top_k)
        question = self._clean_question(await self.standalone(question, history, mode))
        snapshot = self._view()  # one version of every document for the whole question
        evidence = await anyio.to_thread.run_sync(self._retrieve, snapshot, question, k)
        yield StreamEvent(event="sources", data=list(evidence.passages))
        generator, reason = self.generator(mode)
        # each generator quotes only sentences it has checked; the finished record is checked again
        async for event in generator.stream(question, evidence):
            if event.event == "done" and isinstance(event.data, Answer):
                answer = event.data
                if reason and answer.fallback_reason is None:
                    answer = _with_reason(answer, reason)
                answer = _as_asked(self._checked(answer, snapshot), asked, question)
                yield StreamEvent(event="done", data=answer)
            else:
                yield event

    def _checked(self, answer: Answer, snapshot: Store) -> Answer:
        """Enforce the citation invariants: a broken answer is never shown, it becomes an abstention."""

        def text_of(doc_id: str) -> str | None:
            doc = snapshot.document(doc_id)
            return doc.text if doc else None

        problems = invariant_violations(answer, text_of)
        if problems:
            log.error("answer broke citation invariants, abstaining: %s", problems)
            metrics.ERRORS.labels("invariant").inc()
            answer = abstain(answer.question, answer.mode, "invariant_violation")
        metrics.ANSWERS.labels(answer.mode, "abstained" if answer.abstained else "answered").inc()
        return answer

    # --- documents --------------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Metadata of every indexed document."""
        self.store.refresh()
        return [_info(summary) for summary in self.store.summaries()]

    def document(self, doc_id: str) -> DocumentText:
        """One document with its original text."""
        self.store.refresh()
        doc = self.store.document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"No document with id {doc_id!r}.")
        return DocumentText(doc_id=doc.doc_id, title=doc.title, source=doc.source,
                            published=doc.published, text=doc.text, url=doc.url, author=doc.author)

    def add_document(self, new: NewDocument) -> DocumentInfo:
        """Add or replace a document; persisted before it becomes visible."""
        limit = self.settings.index.max_document_chars
        if len(new.text) > limit:
            raise DocumentTooLarge(
                f"The document text is {len(new.text):,} characters long; the limit is {limit:,} "
                "(QA_MAX_DOCUMENT_CHARS). Split it, or index it from a folder with `qa index`."
            )
        doc = make_document(
            new.text, doc_id=new.doc_id, title=new.title, source=new.source,
            published=new.published, url=new.url, author=new.author,
        )
        with self._write_lock:
            written = writer.write_batch(self.store, self.encoder, [doc])[0]
        p = written.processed
        return _info(DocumentSummary(document=p.document, chunks=len(p.chunks), dropped=p.dropped,
                                     copy_of=written.copy_of))

    def delete_document(self, doc_id: str) -> None:
        """Remove a document; persisted before it becomes visible."""
        with self._write_lock:
            if not writer.delete_document(self.store, doc_id):
                raise DocumentNotFound(f"No document with id {doc_id!r}.")

    async def aclose(self) -> None:
        """Release the shared HTTP client."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def open_settings_store(settings: Settings, encoder: Encoder) -> Store:
    """The store ``settings`` name (QA_STORE), for ``encoder``'s vectors."""
    store = open_store(settings.index.store, data_dir=settings.index.data_dir, model=encoder.name,
                       dim=encoder.dimension)
    writer.import_snapshot(store, settings.index.data_dir, encoder.name)  # from an earlier version
    return store


def _info(summary: DocumentSummary) -> DocumentInfo:
    d = summary.document
    return DocumentInfo(
        doc_id=d.doc_id, title=d.title, source=d.source, published=d.published,
        chars=len(d.text), chunks=summary.chunks, dropped=len(summary.dropped),
        duplicate_of=summary.copy_of,
        injections=sum(s.reason == "injection" for s in summary.dropped),
    )


def _with_reason(answer: Answer, reason: str) -> Answer:
    import msgspec

    return msgspec.structs.replace(answer, fallback_reason=reason)



def _as_asked(answer: Answer, asked: str, standalone: str) -> Answer:
    """The record names the question as the user asked it and the standalone form answered."""
    import msgspec

    return msgspec.structs.replace(answer, question=asked, standalone_question=standalone)
