"""The bundled Qwen2.5-Coder-1.5B on xllamacpp's server, behind the real service and retrieval.

Whatever the model writes, nothing unverified reaches the user; and what it gets right survives:
at least one answer is kept in llm mode. If the model cannot be assembled or the server cannot
start, the tests fail (they never skip): the llm extra is part of the project's install.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from eval.local_server import free_port
from qa.answer import ExtractiveGenerator
from qa.llm import LLMGenerator
from qa.llm_local import LocalLLMServer
from qa.records import Answer, Evidence
from qa.service import QAService
from qa.support import ClaimVerifier, SupportedClaim, split_sentences
from qa.verify import MARKER, invariant_violations

pytestmark = [pytest.mark.llm, pytest.mark.slow]

QUESTIONS = [
    "What is the French military operation in Mali called?",
    "Who captured Konna?",
    "How many troops has France sent to Mali?",
]
ANSWERS: list[Answer] = []  # every llm-mode answer of this module, for the "kept" test
BACKEND_FAILURES = {"backend_unavailable", "timeout", "backend_error", "malformed_response"}


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLLMServer]:
    log_path: Path = tmp_path_factory.mktemp("llm") / "llama-server.log"
    server = LocalLLMServer(port=free_port(), log_path=log_path)
    server.start()
    try:
        server.wait_ready(timeout=600)
    except RuntimeError as exc:
        server.stop()
        pytest.fail(f"the llama.cpp server did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm_service(seed_service: QAService, llm_server: LocalLLMServer) -> Iterator[QAService]:
    """The seed service configured for llm mode against the local server."""
    base = seed_service.settings
    generator = replace(
        base.generator, mode="llm", llm_base_url=llm_server.base_url, llm_timeout=600.0
    )
    service = QAService(replace(base, generator=generator), seed_service.store,
                        seed_service.encoder)
    yield service
    asyncio.run(service.aclose())


def _passage_markers(answer: Answer, evidence: Evidence) -> str:
    """The answer text with each citation marker replaced by the number of its passage."""
    def passage_number(marker: int) -> int:
        c = next(c for c in answer.citations if c.marker == marker)
        return next(n for n, p in enumerate(evidence.passages, start=1)
                    if p.doc_id == c.doc_id and p.start <= c.start and c.end <= p.end)
    return MARKER.sub(lambda m: f"[{passage_number(int(m.group(1)))}]", answer.answer)


def _assert_verified(answer: Answer, service: QAService) -> None:
    """Citation invariants hold, and an LLM answer's every sentence passes verification again."""
    assert invariant_violations(answer, lambda d: service.document(d).text) == []
    assert answer.fallback_reason not in BACKEND_FAILURES, "the real server did not answer"
    if answer.mode == "llm":
        evidence = service.retrieve(answer.question)
        verifier = ClaimVerifier(evidence, service.encoder)
        verdicts = [verifier.check(s) for s in split_sentences(_passage_markers(answer, evidence))[0]]
        assert all(isinstance(v, SupportedClaim) for v in verdicts), verdicts
        assert len(verdicts) == len(split_sentences(answer.answer)[0])
    else:
        assert answer.fallback_reason is not None


@pytest.mark.parametrize("question", QUESTIONS)
def test_llm_mode_answers_are_verified_or_fall_back(question: str, llm_service: QAService) -> None:
    answer = asyncio.run(llm_service.ask(question, mode="llm"))
    ANSWERS.append(answer)
    assert answer.question == question
    _assert_verified(answer, llm_service)


def test_the_bundled_model_gets_answers_kept(llm_service: QAService) -> None:
    """Verification judges the answer, not its wording: a right answer from the model stands."""
    assert len(ANSWERS) == len(QUESTIONS), "run with the parametrized tests above"
    kept = [a for a in ANSWERS if a.mode == "llm"]
    assert kept, [(a.fallback_reason, a.answer) for a in ANSWERS]


def test_streamed_llm_answer_is_verified(llm_service: QAService, llm_server) -> None:
    question = QUESTIONS[0]
    evidence = llm_service.retrieve(question)

    async def run() -> list:
        settings = llm_service.settings.generator
        async with httpx.AsyncClient() as client:
            generator = LLMGenerator(settings, client, llm_service.encoder, ExtractiveGenerator())
            return [e async for e in generator.stream(question, evidence)]

    events = asyncio.run(run())
    assert [e.event for e in events][-1] == "done"
    answer = events[-1].data
    assert isinstance(answer, Answer)
    _assert_verified(answer, llm_service)
    assert "".join(e.data["text"] for e in events if e.event == "delta") == answer.answer
    assert [e.data for e in events if e.event == "citation"] == answer.citations
