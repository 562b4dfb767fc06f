"""A real server on loopback (`python -m qa.cli serve`), spoken to by the official openai client
and by a hand-written Server-Sent Events reader."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator

import httpx
import msgspec
import pytest

from eval.local_server import LocalServer
from qa.records import Answer, Citation, Passage
from qa.text import MARKER

pytestmark = pytest.mark.slow

QUESTION = "How many French troops are in Mali?"


@pytest.fixture(scope="module")
def server(seed_settings, seed_index, tmp_path_factory) -> Iterator[str]:
    """Base URL of `qa serve` running over the seed index in a subprocess."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with LocalServer.start(seed_settings.index.data_dir, env={"QA_RATE_LIMIT": "off"},
                           log_path=log_path) as server:
        yield server.url


def _document_text(base: str, doc_id: str) -> str:
    return str(httpx.get(f"{base}/v1/documents/{doc_id}").json()["text"])


def _assert_cited(base: str, text: str, citations: list[Citation]) -> None:
    assert citations
    for c in citations:
        assert _document_text(base, c.doc_id)[c.start:c.end] == c.quote
    assert {int(m) for m in MARKER.findall(text)} == {c.marker for c in citations}


def test_openai_client_gets_a_cited_reply(server) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="not-needed", max_retries=0)
    assert "newsqa" in [m.id for m in client.models.list()]
    completion = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    answer_text, _, sources = content.partition("\n\nSources:\n")
    assert sources.startswith("[1] ")
    raw = completion.model_extra["citations"]  # type: ignore[index]
    citations = msgspec.json.decode(json.dumps(raw), type=list[Citation])
    _assert_cited(server, answer_text, citations)
    assert completion.choices[0].message.model_extra["citations"] == raw  # type: ignore[index]


def test_openai_client_streams_the_same_reply(server) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="not-needed", max_retries=0)
    messages = [{"role": "user", "content": QUESTION}]
    plain = client.chat.completions.create(model="newsqa", messages=messages)  # type: ignore[arg-type]
    pieces, finish = [], None
    for chunk in client.chat.completions.create(
        model="newsqa", messages=messages, stream=True  # type: ignore[arg-type]
    ):
        pieces.append(chunk.choices[0].delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop"
    assert "".join(pieces) == plain.choices[0].message.content


def read_sse(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """A minimal event-stream parser: yields (event, data) as each blank line ends an event."""
    name, data = "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def test_raw_sse_reader_sees_sources_deltas_citations_done(server) -> None:
    with httpx.stream("POST", f"{server}/v1/ask", json={"question": QUESTION},
                      headers={"Accept": "text/event-stream"}, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(read_sse(response))
    names = " ".join(name for name, _ in events)
    assert re.fullmatch(r"sources (delta (citation )*)+done", names), names
    passages = msgspec.json.decode(events[0][1], type=list[Passage])
    assert all(_document_text(server, p.doc_id)[p.start:p.end] == p.text for p in passages)
    done = msgspec.json.decode(events[-1][1], type=Answer)
    assert "".join(json.loads(d)["text"] for n, d in events if n == "delta") == done.answer
    _assert_cited(server, done.answer, done.citations)


def _percentiles(timings: list[float]) -> str:
    timings = sorted(timings)
    p50 = statistics.median(timings) * 1000
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)] * 1000
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (n={len(timings)})"


def test_warm_ask_latency_over_loopback(server) -> None:
    """Prints p50/p95 of warm round trips (figures, not assertions): /healthz is the HTTP floor."""
    questions = [QUESTION, "Where did the French troops enter?", "Who is Jean-Yves Le Drian?",
                 "How far is Banamba from Bamako?", "What did the Islamists do in Algeria?"]
    timings: dict[str, list[float]] = {"healthz": [], "search": [], "ask": []}
    with httpx.Client(base_url=server, timeout=60) as client:
        for q in questions:  # warm-up
            assert client.post("/v1/ask", json={"question": q}).status_code == 200
        for i in range(40):
            q = questions[i % len(questions)]
            for name, (method, path, kwargs) in {
                "healthz": ("GET", "/healthz", {}),
                "search": ("GET", "/v1/search", {"params": {"q": q}}),
                "ask": ("POST", "/v1/ask", {"json": {"question": q}}),
            }.items():
                started = time.perf_counter()
                response = client.request(method, path, **kwargs)
                timings[name].append(time.perf_counter() - started)
                assert response.status_code == 200
    for name, values in timings.items():
        print(f"\nwarm {name} over loopback: {_percentiles(values)}", end="")
    print()
