"""The HTTP app through Litestar's test client, with the real service over the seed index."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace

import msgspec
import pytest
from litestar.testing import TestClient

from embeddings.records import Document
from qa.app import create_app
from qa.errors import BackendTimeout, BackendUnavailable
from qa.http_api import ASK_MAX_BODY
from qa.records import Answer, Citation, DocumentInfo, Passage
from qa.service import QAService
from qa.settings import IndexSettings, Settings
from qa.text import MARKER

ADMIN_KEY = "test-admin-key"
ORIGIN = "https://news.example"
QUESTION = "How many French troops are in Mali?"


def _settings(base: Settings, **server: object) -> Settings:
    defaults: dict[str, object] = {
        "admin_key": ADMIN_KEY, "rate_limit": "off", "cors_origins": (ORIGIN,),
    }
    return replace(base, server=replace(base.server, **{**defaults, **server}))


@pytest.fixture(scope="module")
def client(seed_service: QAService) -> Iterator[TestClient]:
    app = create_app(_settings(seed_service.settings), service=seed_service)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def writable(fresh_service: QAService) -> Iterator[TestClient]:
    app = create_app(_settings(fresh_service.settings), service=fresh_service)
    with TestClient(app) as test_client:
        yield test_client


def admin(key: str = ADMIN_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sse_events(body: str) -> list[tuple[str, str]]:
    """Parse a text/event-stream body into (event, data) pairs, as a browser would."""
    events = []
    for block in re.split(r"\r\n\r\n|\n\n", body):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


def assert_cited(answer_text: str, citations: list[Citation], service: QAService) -> None:
    """Every quote is the source's exact words and markers and citations match one to one."""
    for c in citations:
        assert service.document(c.doc_id).text[c.start:c.end] == c.quote
    assert {int(m) for m in MARKER.findall(answer_text)} == {c.marker for c in citations}


# --- /v1/ask ----------------------------------------------------------------------------------


def test_ask_returns_the_answer_record_with_exact_quotes(client, seed_service) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION, "top_k": 4})
    assert response.status_code == 200
    answer = msgspec.json.decode(response.content, type=Answer)
    assert not answer.abstained and answer.citations
    assert_cited(answer.answer, answer.citations, seed_service)


def test_ask_abstains_without_citations_when_the_corpus_has_no_answer(client) -> None:
    response = client.post("/v1/ask", json={"question": "What is the boiling point of mercury?"})
    answer = msgspec.json.decode(response.content, type=Answer)
    assert answer.abstained and answer.citations == []


@pytest.mark.parametrize("how", ["accept", "flag"])
def test_ask_streams_sources_deltas_citations_then_done(client, seed_service, how) -> None:
    if how == "accept":
        response = client.post("/v1/ask", json={"question": QUESTION},
                               headers={"Accept": "text/event-stream"})
    else:
        response = client.post("/v1/ask", json={"question": QUESTION, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert re.fullmatch(r"sources (delta (citation )*)+done", " ".join(names)), names
    passages = msgspec.json.decode(events[0][1], type=list[Passage])
    assert passages and all(seed_service.document(p.doc_id).text[p.start:p.end] == p.text
                            for p in passages)
    done = msgspec.json.decode(events[-1][1], type=Answer)
    streamed = [msgspec.json.decode(d, type=Citation) for n, d in events if n == "citation"]
    assert "".join(json.loads(d)["text"] for n, d in events if n == "delta") == done.answer
    assert sorted(streamed, key=lambda c: c.marker) == sorted(done.citations, key=lambda c: c.marker)
    assert not done.abstained
    assert_cited(done.answer, done.citations, seed_service)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"question": ""}, "empty"),
        ({"question": "   \n\t "}, "empty"),
        ({"question": "why " * 300}, "1000"),
        ({"question": 42}, "Expected `str`, got `int`"),
        ({"question": "Who?", "colour": "red"}, "unknown field `colour`"),
        ({"question": "Who?", "top_k": 0}, "top_k"),
        ({"question": "Who?", "top_k": "three"}, "top_k"),
        ({"question": "Who?", "mode": "poetry"}, "mode"),
        ({"question": "Who?", "stream": "yes"}, "stream"),
        ({}, "question"),
        ([], "Expected `object`, got `array`"),
    ],
)
def test_bad_ask_bodies_get_400_naming_the_problem(client, body, named) -> None:
    response = client.post("/v1/ask", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert set(error) == {"error", "detail"}
    assert named in error["detail"]


@pytest.mark.parametrize(
    ("raw", "named"),
    [(b'{"question": "Who?"', "not valid JSON"), (b"", "body is missing"),
     (b"\xff\xfe", "not valid JSON"), (b"{'question': 'Who?'}", "not valid JSON")],
)
def test_unparseable_bodies_get_400(client, raw, named) -> None:
    response = client.post("/v1/ask", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert named in response.json()["detail"]


@pytest.mark.parametrize(
    "raw",
    [b"[" * 5000 + b"]" * 5000, b'{"question": "\\ud800"}', b'{"question": "Who?"} trailing',
     b'{"question": "Who?", "top_k": 1e309}', b'{"question": "Who?", "top_k": true}',
     b'"just a string"', b"null", '{"question": "Qui a pris Diabaly ? \u8ab0 \U0001f642"}'.encode(),
     b'{"question": "\\u0000"}', b'{"question": "[1] [2] [99]"}'],
)
def test_nothing_a_client_sends_is_a_500(client, raw) -> None:
    response = client.post("/v1/ask", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(response.json()) == {"error", "detail"}
    else:
        answer = msgspec.json.decode(response.content, type=Answer)
        assert {int(m) for m in MARKER.findall(answer.answer)} == {c.marker for c in answer.citations}


def test_stream_with_a_bad_question_is_a_plain_400(client) -> None:
    response = client.post("/v1/ask", json={"question": " "}, headers={"Accept": "text/event-stream"})
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_wrong_content_type_is_415(client) -> None:
    response = client.post("/v1/ask", content=b"question=Who", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_oversized_ask_body_is_413(client) -> None:
    response = client.post("/v1/ask", json={"question": "x" * (ASK_MAX_BODY + 1024)})
    assert response.status_code == 413
    assert str(ASK_MAX_BODY) in response.json()["detail"]


def test_wrong_method_and_unknown_route_keep_the_error_shape(client) -> None:
    assert client.get("/v1/ask").status_code == 405
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and set(missing.json()) == {"error", "detail"}


class BackendGoesAway(QAService):
    """The real service, whose LLM backend fails once retrieval is done (a fake of the backend)."""

    async def ask(self, question: str, **kwargs: object) -> Answer:
        await super().ask(question, **kwargs)  # type: ignore[arg-type]
        raise BackendTimeout("The LLM backend did not answer within 30 s.")

    async def stream(self, question: str, **kwargs: object):  # type: ignore[override]
        async for event in super().stream(question, **kwargs):  # type: ignore[arg-type]
            yield event
            if event.event == "sources":
                raise BackendUnavailable("The LLM backend refused the connection.")


@pytest.fixture(scope="module")
def failing(seed_service: QAService) -> Iterator[TestClient]:
    service = BackendGoesAway(seed_service.settings, seed_service.store, seed_service.encoder)
    with TestClient(create_app(_settings(seed_service.settings), service=service)) as test_client:
        yield test_client


def test_backend_failure_is_502_and_an_error_event_mid_stream(failing) -> None:
    response = failing.post("/v1/ask", json={"question": QUESTION})
    assert response.status_code == 502
    assert response.json() == {"error": "LLM backend error",
                               "detail": "The LLM backend did not answer within 30 s."}
    streamed = failing.post("/v1/ask", json={"question": QUESTION, "stream": True})
    assert streamed.status_code == 200
    events = sse_events(streamed.text)
    assert [name for name, _ in events] == ["sources", "error"]
    assert json.loads(events[1][1]) == {"message": "The LLM backend refused the connection."}
    chat = _chat(failing, stream=True)
    chunks = [data for _, data in sse_events(chat.text)]
    assert chunks[-1] == "[DONE]"
    assert json.loads(chunks[-2])["error"]["message"] == "The LLM backend refused the connection."


# --- /v1/search and /v1/documents ----------------------------------------------------------------


def test_search_returns_scored_passages_quoting_the_source(client, seed_service) -> None:
    response = client.get("/v1/search", params={"q": "Diabaly", "k": 3})
    assert response.status_code == 200
    passages = msgspec.json.decode(response.content, type=list[Passage])
    assert 1 <= len(passages) <= 3
    assert any("Diabaly" in p.text for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert seed_service.document(p.doc_id).text[p.start:p.end] == p.text


@pytest.mark.parametrize(
    ("params", "named"),
    [({}, "q"), ({"q": "Mali", "k": 0}, "k"), ({"q": "Mali", "k": "many"}, "k"), ({"q": " "}, "empty")],
)
def test_bad_search_gets_400(client, params, named) -> None:
    response = client.get("/v1/search", params=params)
    assert response.status_code == 400
    assert named in response.json()["detail"]


def test_documents_list_and_one_document_with_its_original_text(client, seed_service) -> None:
    listed = msgspec.json.decode(client.get("/v1/documents").content, type=list[DocumentInfo])
    assert len(listed) == 5
    first = listed[0]
    document = msgspec.json.decode(client.get(f"/v1/documents/{first.doc_id}").content, type=Document)
    assert document.text == seed_service.document(first.doc_id).text
    assert len(document.text) == first.chars


def test_unknown_document_is_404(client) -> None:
    response = client.get("/v1/documents/no-such-doc")
    assert response.status_code == 404
    assert "no-such-doc" in response.json()["detail"]


# --- writes ---------------------------------------------------------------------------------------

NEW = {"doc_id": "test-bridge", "title": "Bridge reopens", "source": "Test Wire",
       "published": "2013-02-01",
       "text": "The Gao bridge over the Niger reopened on Friday after repairs by army engineers. "
               "Traffic resumed within the hour, local officials said."}


@pytest.mark.parametrize(("headers", "status"), [({}, 401), (admin("wrong-key"), 401),
                                                  ({"Authorization": "Basic abc"}, 401)])
def test_writes_need_the_admin_key(client, headers, status) -> None:
    posted = client.post("/v1/documents", json=NEW, headers=headers)
    deleted = client.delete("/v1/documents/anything", headers=headers)
    assert posted.status_code == deleted.status_code == status
    assert posted.headers["www-authenticate"] == "Bearer"
    assert "admin key" in posted.json()["detail"]


def test_writes_are_disabled_without_a_configured_key(seed_service) -> None:
    app = create_app(_settings(seed_service.settings, admin_key=None), service=seed_service)
    with TestClient(app) as c:
        response = c.post("/v1/documents", json=NEW, headers=admin())
        assert response.status_code == 403
        assert "QA_ADMIN_KEY" in response.json()["detail"]
        assert c.delete("/v1/documents/x", headers=admin("")).status_code == 403


def test_add_ask_and_delete_a_document(writable, fresh_service) -> None:
    added = writable.post("/v1/documents", json=NEW, headers=admin())
    assert added.status_code == 200, added.text
    info = msgspec.json.decode(added.content, type=DocumentInfo)
    assert info.doc_id == "test-bridge" and info.chars == len(NEW["text"])
    assert writable.get("/v1/documents/test-bridge").json()["text"] == NEW["text"]
    response = writable.post("/v1/ask", json={"question": "When did the Gao bridge reopen?"})
    answer = msgspec.json.decode(response.content, type=Answer)
    assert any(c.doc_id == "test-bridge" for c in answer.citations)
    assert_cited(answer.answer, answer.citations, fresh_service)
    assert writable.delete("/v1/documents/test-bridge", headers=admin()).status_code == 204
    assert writable.get("/v1/documents/test-bridge").status_code == 404
    assert writable.delete("/v1/documents/test-bridge", headers=admin()).status_code == 404


@pytest.mark.parametrize(
    ("body", "named"),
    [({**NEW, "text": "   "}, "empty"), ({**NEW, "colour": "red"}, "unknown field `colour`"),
     ({**NEW, "text": 7}, "text")],
)
def test_bad_documents_get_400(writable, body, named) -> None:
    response = writable.post("/v1/documents", json=body, headers=admin())
    assert response.status_code == 400
    assert named in response.json()["detail"]


def test_oversized_document_is_413(client) -> None:
    big = {**NEW, "text": "word " * (2 * 1024 * 1024)}
    response = client.post("/v1/documents", json=big, headers=admin())
    assert response.status_code == 413


# --- OpenAI compatibility ---------------------------------------------------------------------


def test_models_lists_the_service(client) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert "newsqa" in [m["id"] for m in body["data"]]


def _chat(client: TestClient, **extra: object):
    return client.post("/v1/chat/completions", json={
        "model": "newsqa", "temperature": 0.2,
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Hello"},
                     {"role": "assistant", "content": "Hi."},
                     {"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        **extra,
    })


def test_chat_completion_is_the_cited_answer_with_a_source_list(client, seed_service) -> None:
    response = _chat(client)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant" and body["choices"][0]["finish_reason"] == "stop"
    citations = msgspec.json.decode(json.dumps(body["citations"]), type=list[Citation])
    assert citations and body["citations"] == message["citations"]
    answer_part, sources = message["content"].split("\n\nSources:\n")
    assert_cited(answer_part, citations, seed_service)
    for line, c in zip(sources.splitlines(), sorted(citations, key=lambda c: c.marker), strict=True):
        assert line.startswith(f"[{c.marker}] {c.title}") and line.endswith(f': "{c.quote}"')


def test_chat_stream_chunks_add_up_to_the_same_reply(client) -> None:
    plain = _chat(client).json()["choices"][0]["message"]["content"]
    response = _chat(client, stream=True)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert all(name == "message" for name, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == plain
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [({"model": "newsqa", "messages": [{"role": "system", "content": "x"}]}, 400, "user message"),
     ({"model": "newsqa", "messages": [{"role": "user", "content": " "}]}, 400, "empty"),
     ({"model": "gpt-4o", "messages": [{"role": "user", "content": "Who?"}]}, 404, "gpt-4o"),
     ({"model": "newsqa"}, 400, "messages")],
)
def test_bad_chat_requests(client, body, status, named) -> None:
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == status
    assert named in response.json()["detail"]


# --- operations ---------------------------------------------------------------------------------


def test_health_ready_and_metrics(client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    client.post("/v1/ask", json={"question": QUESTION})
    client.post("/v1/ask", json={"question": ""})
    text = client.get("/metrics").text
    assert 'qa_http_requests_total{route="/v1/ask",status="200"}' in text
    assert 'qa_http_requests_total{route="/v1/ask",status="400"}' in text
    assert 'qa_http_request_seconds_bucket{le="0.5",route="/v1/ask"}' in text
    assert re.search(r'qa_answers_total\{mode="extractive",outcome="answered"\} [1-9]', text)
    assert re.search(r'qa_errors_total\{kind="InvalidQuestion"\} [1-9]', text)


def test_without_an_index_the_app_is_up_but_not_ready(tmp_path) -> None:
    settings = replace(Settings(), index=IndexSettings(data_dir=tmp_path / "empty"))
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 503
        response = c.post("/v1/ask", json={"question": QUESTION})
        assert response.status_code == 503
        assert "qa index" in response.json()["detail"]


def test_rate_limit_answers_429_with_retry_after(seed_service) -> None:
    app = create_app(_settings(seed_service.settings, rate_limit="2/minute"), service=seed_service)
    with TestClient(app) as c:
        first = c.get("/v1/documents")
        assert first.headers["RateLimit-Limit"] == "2"
        assert c.get("/v1/documents").status_code == 200
        limited = c.get("/v1/documents")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert set(limited.json()) == {"error", "detail"}
        for path in ("/healthz", "/readyz", "/metrics", "/widget.js", "/"):
            assert c.get(path).status_code == 200, path


def test_cors_allows_configured_origins_only(client) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/v1/ask", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-credentials" not in allowed.headers
    other = client.options("/v1/ask", headers={"Origin": "https://evil.example", **preflight})
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"
    simple = client.get("/v1/documents", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_openapi_schema_and_swagger_ui(client) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert {"/v1/ask", "/v1/search", "/v1/documents", "/v1/chat/completions"} <= set(schema["paths"])
    assert "Answer" in schema["components"]["schemas"]
    assert client.get("/schema/swagger").status_code == 200
