"""LLMGenerator: answers written by an OpenAI-compatible chat server, kept only where verified.

Works with llama.cpp's server, vLLM, Ollama and OpenAI (``POST {base_url}/chat/completions``,
streamed). Every sentence the model writes is checked against the passage it cites
(``qa.support``); what fails is dropped. When the backend fails, or too little survives, the
answer comes from the fallback generator (extractive) and ``fallback_reason`` says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator

import anyio
import httpx
import msgspec

from embeddings.encoder import Encoder
from qa import metrics
from qa.answer import renumbered
from qa.claim_text import parse_claim
from qa.conflicts import hold_lone_values
from qa.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    EmptyResponse,
    MalformedResponse,
)
from qa.generator import Completing, Generator, Guided
from qa.prompts import chat_messages
from qa.reader import coordinated, mentions
from qa.records import Answer, Evidence, StreamEvent
from qa.settings import GeneratorSettings
from qa.support import CitationBook, ClaimVerifier, DroppedClaim, SupportedClaim, split_sentences
from qa.text import content_terms

log = logging.getLogger("qa.llm")

RETRIES = 2  # extra attempts after a refused connection or a 5xx, all within the one deadline
BACKOFF = 0.2  # seconds before the first retry, doubled after each
LLM_PASSAGES = 4  # passages shown to the model
CHARS_PER_TOKEN = 8  # client-side cap on streamed text: generous per token, finite for a runaway
REASONS: tuple[tuple[type[BackendError], str], ...] = (
    (BackendUnavailable, "backend_unavailable"),
    (BackendTimeout, "timeout"),
    (MalformedResponse, "malformed_response"),
    (EmptyResponse, "empty_response"),
    (BackendError, "backend_error"),
)


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    delta: _Message | None = None  # streamed chunk
    message: _Message | None = None  # whole reply
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: list[_Choice]


_decode = msgspec.json.Decoder(_Completion).decode


class _Reply:
    """How the backend's reply ended: cut short by max_tokens or by our own cap."""

    def __init__(self) -> None:
        self.cut_off = False
        self.text = ""  # everything the model said, verified or not


def fallback_reason(exc: BackendError) -> str:
    """The ``fallback_reason`` recorded for a backend failure."""
    return next(reason for kind, reason in REASONS if isinstance(exc, kind))


class LLMGenerator:
    """Generator protocol over an OpenAI-compatible server, with verification and fallback."""

    def __init__(
        self, settings: GeneratorSettings, client: httpx.AsyncClient, encoder: Encoder,
        fallback: Generator,
    ) -> None:
        if not settings.llm_base_url:
            raise ValueError("LLMGenerator needs QA_LLM_BASE_URL (settings.llm_base_url)")
        self.settings = settings
        self._client = client
        self._encoder = encoder
        self._fallback = fallback
        self._url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        self._timeout = httpx.Timeout(settings.llm_timeout, connect=min(5.0, settings.llm_timeout))
        self._max_chars = settings.llm_max_tokens * CHARS_PER_TOKEN
        self.last_reply = _Reply()  # what the model last said, verified or not (for the eval)

    async def generate(self, question: str, evidence: Evidence) -> Answer:
        """Generator protocol: the verified LLM answer, or the fallback's answer and the reason."""
        answer: Answer | None = None
        async for event in self.stream(question, evidence, replay=False):
            if event.event == "done":
                answer = event.data  # type: ignore[assignment]
        assert answer is not None
        return answer

    async def stream(
        self, question: str, evidence: Evidence, *, replay: bool = True
    ) -> AsyncIterator[StreamEvent]:
        """Verified sentences as ``delta`` and ``citation`` events as they complete, then ``done``."""
        if not evidence.passages:
            async for event in self._fall_back(question, evidence, "no_evidence", replay):
                yield event
            return
        # where the reader finds the sources don't answer (a name, figure or date asked that no
        # window states, nothing of the kind asked), neither may the model: it is not asked
        reading = await self._fallback.generate(question, evidence)
        if reading.abstained:
            async for event in self._fall_back(question, evidence, "not_in_sources", replay, given=reading):
                yield event
            return
        full, evidence = evidence, shown(evidence, reading)
        against = checked(full, evidence)
        book = CitationBook(against)
        parts: list[str] = []
        dropped: list[DroppedClaim] = []
        reply = self.last_reply = _Reply()
        try:
            async for verdict in self._verdicts(question, evidence, against, reply):
                if isinstance(verdict, DroppedClaim):
                    dropped.append(verdict)
                    continue
                text, new = book.render(verdict)
                parts.append(text)
                if replay:
                    yield StreamEvent(event="delta", data={"text": text if len(parts) == 1 else f" {text}"})
                    for citation in new:
                        yield StreamEvent(event="citation", data=citation)
        except BackendError as exc:
            reason = fallback_reason(exc)
            metrics.ERRORS.labels(f"llm_{reason}").inc()
            if not parts:
                log.warning("LLM backend failed (%s): %s; falling back", reason, exc)
                async for event in self._fall_back(question, full, reason, replay, given=reading):
                    yield event
                return
            # verified sentences already went out: the answer ends with them
            log.warning("LLM backend failed after %d verified sentences (%s): %s",
                        len(parts), reason, exc)
        metrics.LLM_SENTENCES.labels("kept").inc(len(parts))
        metrics.LLM_SENTENCES.labels("dropped").inc(len(dropped))
        for claim in dropped:
            log.info("dropped LLM sentence (%s): %r", claim.reason, claim.text)
        weak = _weak_result(len(parts), dropped, reply)
        if weak is not None and (not parts or not replay):
            # what the model answered first guides the fallback's choice among its own candidates
            hint = next((d.text for d in dropped if d.reason not in ("declined", "cut_off")), "")
            async for event in self._fall_back(question, full, weak, replay, hint):
                yield event
            return
        answer = Answer(question=question, answer=" ".join(parts), abstained=False,
                        citations=list(book.citations), mode="llm")
        extra = await self._left_out(question, answer, full)
        if extra is not None:
            text, cited = renumbered(extra, len(answer.citations))
            answer = msgspec.structs.replace(
                answer, answer=f"{answer.answer} {text}", citations=[*answer.citations, *cited])
            if replay:
                yield StreamEvent(event="delta", data={"text": f" {text}"})
                for citation in cited:
                    yield StreamEvent(event="citation", data=citation)
        # rivals are sought in all the retrieved evidence, not only the passages shown
        yield StreamEvent(event="done", data=hold_lone_values(question, answer, full))

    async def _left_out(self, question: str, answer: Answer, evidence: Evidence) -> Answer | None:
        """For "the ministers of A and B" answered of A only: the fallback's verbatim answer about B
        (a kept answer must give every name the question asks about)."""
        said = set(content_terms(" ".join([answer.answer, *(c.quote for c in answer.citations)])))
        missing = frozenset(n for group in coordinated(question) for n in group if not mentions(said, n))
        if not missing or not isinstance(self._fallback, Completing):
            return None
        extra = await self._fallback.about_names(question, evidence, missing)
        if extra.abstained:
            return None
        metrics.LLM_COMPLETED.inc()
        log.info("completed the LLM answer for names it left out: %s", sorted(missing))
        return extra

    async def _fall_back(
        self, question: str, evidence: Evidence, reason: str, replay: bool, hint: str = "",
        given: Answer | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """The fallback generator's answer (``given``, when already made), marked with why it
        replaced the LLM's."""
        metrics.LLM_FALLBACKS.labels(reason).inc()
        log.warning("answering with the fallback generator: %s", reason)
        if given is not None:
            answer = given
        elif hint and isinstance(self._fallback, Guided):
            answer = await self._fallback.guided(question, evidence, hint)
        else:
            answer = await self._fallback.generate(question, evidence)
        answer = msgspec.structs.replace(answer, mode="extractive", fallback_reason=reason)
        if replay:
            yield StreamEvent(event="delta", data={"text": answer.answer})
            for citation in answer.citations:
                yield StreamEvent(event="citation", data=citation)
        yield StreamEvent(event="done", data=answer)

    async def _verdicts(
        self, question: str, read: Evidence, against: Evidence, reply: _Reply
    ) -> AsyncIterator[SupportedClaim | DroppedClaim]:
        """A verdict on each sentence of the backend's answer as soon as the sentence is complete:
        the model reads ``read``; its claims are checked ``against`` (the passages read first)."""
        verifier = ClaimVerifier(against, self._encoder)

        def check(sentence: str) -> SupportedClaim | DroppedClaim:
            text, cited = parse_claim(sentence)
            if cited and not any(1 <= n <= len(read.passages) for n in cited):
                # a number past the passages it read (a small model shown one passage cites "[2]"):
                # mis-cited, so sought in every passage, as an unmarked sentence is
                return verifier.check(text)
            return verifier.check(sentence)

        buffer = ""
        reply.text = ""
        async for piece in self._backend_text(question, read, reply):
            buffer += piece
            reply.text += piece
            sentences, buffer = split_sentences(buffer, final=False)
            for sentence in sentences:
                yield await anyio.to_thread.run_sync(check, sentence)
        sentences, _ = split_sentences(buffer, final=True)
        for n, sentence in enumerate(sentences, start=1):
            if reply.cut_off and n == len(sentences):
                yield DroppedClaim(text=sentence, reason="cut_off")
            else:
                yield await anyio.to_thread.run_sync(check, sentence)

    async def _backend_text(
        self, question: str, evidence: Evidence, reply: _Reply
    ) -> AsyncIterator[str]:
        """The answer text as it arrives; foreign errors become BackendError here and only here."""
        deadline = asyncio.get_running_loop().time() + self.settings.llm_timeout
        pieces = self._request(question, evidence, reply, deadline)
        try:
            while True:
                async with asyncio.timeout_at(deadline):
                    piece = await anext(pieces, None)
                if piece is None:
                    return
                yield piece
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise BackendTimeout(f"no complete answer within {self.settings.llm_timeout:g}s") from exc
        except httpx.HTTPStatusError as exc:
            raise BackendResponseError(f"the LLM backend answered {exc.response.status_code}") from exc
        except httpx.RemoteProtocolError as exc:
            raise BackendResponseError(f"the LLM backend broke the protocol: {exc}") from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise BackendUnavailable(f"cannot reach the LLM backend at {self._url}: {exc}") from exc
        except (msgspec.DecodeError, UnicodeDecodeError, IndexError) as exc:
            raise MalformedResponse(f"the LLM backend sent an unreadable reply: {exc}") from exc
        finally:
            await pieces.aclose()

    async def _request(
        self, question: str, evidence: Evidence, reply: _Reply, deadline: float
    ) -> AsyncGenerator[str, None]:
        """POST the chat request (retrying refused connections and 5xx) and yield content pieces."""
        payload = {
            "model": self.settings.llm_model,
            "messages": chat_messages(question, evidence.passages),
            "max_tokens": self.settings.llm_max_tokens,
            "temperature": 0,
            "stream": True,
        }
        key = self.settings.llm_api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        for attempt in range(RETRIES + 1):
            try:
                async with self._client.stream(
                    "POST", self._url, json=payload, headers=headers, timeout=self._timeout
                ) as response:
                    if response.status_code < 500 or not _may_retry(attempt, deadline):
                        response.raise_for_status()
                        said = False
                        async for piece in self._content(response, reply):
                            said = said or bool(piece.strip())
                            yield piece
                        if not said:
                            raise EmptyResponse("the LLM backend sent no answer text")
                        return
                    log.warning("LLM backend answered %d; retrying", response.status_code)
            except httpx.ConnectError:
                if not _may_retry(attempt, deadline):
                    raise
                log.warning("LLM backend refused the connection; retrying")
            await asyncio.sleep(BACKOFF * 2**attempt)

    async def _content(self, response: httpx.Response, reply: _Reply) -> AsyncIterator[str]:
        """Content pieces of a streamed (SSE) or whole (JSON) reply, at most ``_max_chars``."""
        budget = self._max_chars
        if "text/event-stream" in response.headers.get("content-type", ""):
            async for line in response.aiter_lines():
                data = line[5:].strip() if line.startswith("data:") else ""
                if data == "[DONE]":
                    return
                for choice in _decode(data).choices[:1] if data else ():
                    text = (choice.delta or _Message()).content or ""
                    reply.cut_off |= choice.finish_reason == "length"
                    if len(text) > budget:
                        yield text[:budget]
                        self._capped(reply)
                        return
                    budget -= len(text)
                    yield text
            return
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > 4 * budget + 65536:
                raise MalformedResponse(f"the LLM backend's reply exceeds {len(body)} bytes")
        choice = _decode(bytes(body)).choices[0]
        reply.cut_off = choice.finish_reason == "length"
        text = (choice.message or _Message()).content or ""
        if len(text) > budget:
            text = text[:budget]
            self._capped(reply)
        yield text

    def _capped(self, reply: _Reply) -> None:
        reply.cut_off = True
        metrics.ERRORS.labels("llm_output_capped").inc()
        log.warning("LLM output exceeded %d characters; the rest is ignored", self._max_chars)


def shown(evidence: Evidence, reading: Answer) -> Evidence:
    """The evidence the model reads: the passages that the reader's answer cites, then the one
    closest in meaning to the question, at most ``LLM_PASSAGES`` (a small model on two cores reads
    ~1,000 prompt tokens in seconds, eight passages in close to a minute).

    What the model reads follows what the reader found, not the retriever's ranks: a document added
    elsewhere in the index moves those ranks (and BM25's weights), even the first of two passages
    that fuse to nearly the same score, and would change the answer to a question it has nothing to
    do with. A passage's closeness in meaning is its own (its best sentence's cosine to the question),
    which no other document moves."""
    cited = [n for c in reading.citations for n, p in enumerate(evidence.passages)
             if p.doc_id == c.doc_id and p.start <= c.start < p.end]
    return _reordered(evidence, list(dict.fromkeys([*cited, closest_in_meaning(evidence)]))[:LLM_PASSAGES])


def closest_in_meaning(evidence: Evidence) -> int:
    """The passage whose sentence is the closest in meaning to the question (the retriever's first
    when no sentence was scored); ties go to the better-ranked passage."""
    best = max(evidence.sentences, key=lambda s: (s.similarity, -s.passage), default=None)
    return 0 if best is None else best.passage


def checked(evidence: Evidence, read: Evidence) -> Evidence:
    """All the retrieved evidence, the passages the model read first (numbered as it read them):
    a claim is sought in the others too, as a mis-cited one is in the passages read."""
    first = [evidence.passages.index(p) for p in read.passages]
    return _reordered(evidence, list(dict.fromkeys([*first, *range(len(evidence.passages))])))


def _reordered(evidence: Evidence, order: list[int]) -> Evidence:
    """``evidence`` with the passages ``order`` lists, in that order (sentences renumbered)."""
    if order == list(range(len(evidence.passages))):
        return evidence
    new = {old: n for n, old in enumerate(order)}
    terms = evidence.passage_terms
    return msgspec.structs.replace(
        evidence, passages=tuple(evidence.passages[p] for p in order),
        sentences=tuple(msgspec.structs.replace(s, passage=new[s.passage])
                        for s in evidence.sentences if s.passage in new),
        passage_terms=tuple(terms[p] for p in order) if len(terms) == len(evidence.passages) else terms,
    )


def _may_retry(attempt: int, deadline: float) -> bool:
    """True when another attempt is allowed and its backoff ends before the deadline."""
    # giving up with the real error beats sleeping into a timeout
    return attempt < RETRIES and asyncio.get_running_loop().time() + BACKOFF * 2**attempt < deadline


def _weak_result(kept: int, dropped: list[DroppedClaim], reply: _Reply) -> str | None:
    """Why the verified part is too little to stand as the answer, or None when it stands."""
    declined = any(d.reason == "declined" for d in dropped)
    unsupported = sum(d.reason not in ("declined", "cut_off") for d in dropped)
    if kept == 0:
        if declined:
            return "llm_declined"
        return "output_too_long" if reply.cut_off and not unsupported else "unsupported_claims"
    if kept < unsupported:  # most of what the model said is not in the sources
        return "unsupported_claims"
    return None
