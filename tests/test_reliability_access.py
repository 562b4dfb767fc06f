"""Access control beyond tests/test_app.py: where the admin key may come from, rate limits on the
expensive endpoints and their recovery, body limits that a chunked upload cannot dodge, and CORS
for configured origins only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar.testing import TestClient

from qa.app import create_app
from qa.http_api import ASK_MAX_BODY
from qa.service import QAService
from qa.settings import Settings

KEY = "access-admin-key"
ORIGIN = "https://news.example"
DOC = {"doc_id": "access-test", "text": "The Quillmere ferry resumed service on Monday."}


def app_for(service: QAService, **server: object) -> TestClient:
    defaults: dict[str, object] = {"admin_key": KEY, "rate_limit": "off", "cors_origins": ()}
    settings = replace(service.settings, server=replace(service.settings.server, **{**defaults, **server}))
    return TestClient(create_app(settings, service=service))


@pytest.fixture()
def client(fresh_service: QAService) -> Iterator[TestClient]:
    with app_for(fresh_service) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"key": KEY}, {}),
        ({"admin_key": KEY}, {}),
        ({}, {"Cookie": f"admin_key={KEY}"}),
        ({}, {"X-Api-Key": KEY}),
        ({}, {"Authorization": KEY}),
        ({}, {"Authorization": f"Bearer {KEY[:-1]}"}),
        ({}, {"Authorization": f"Bearer {KEY}x"}),
        ({}, {"Authorization": f"Basic {KEY}"}),
        ({}, {"Authorization": f"Token {KEY}"}),
    ],
)
def test_the_admin_key_counts_only_as_a_bearer_token(client, params, headers) -> None:
    before = client.get("/v1/documents").json()
    posted = client.post("/v1/documents", params=params, json=DOC, headers=headers)
    deleted = client.delete("/v1/documents/000_c0997ec08ee8e834", params=params, headers=headers)
    assert posted.status_code == deleted.status_code == 401
    assert client.get("/v1/documents").json() == before


def test_the_right_bearer_token_writes(client) -> None:
    assert client.post("/v1/documents", json=DOC, headers={"Authorization": f"bearer  {KEY} "}
                       ).status_code == 200
    assert client.delete(f"/v1/documents/{DOC['doc_id']}", headers={"Authorization": f"Bearer {KEY}"}
                         ).status_code == 204


@pytest.mark.parametrize("configured", [{}, {"QA_ADMIN_KEY": ""}])
def test_writes_are_refused_when_the_environment_sets_no_key(seed_service, configured) -> None:
    settings = Settings.from_env({"QA_RATE_LIMIT": "off", **configured})
    assert settings.server.admin_key is None
    app = create_app(replace(seed_service.settings, server=settings.server), service=seed_service)
    with TestClient(app) as c:
        for token in ("", "None", "null", KEY):
            headers = {"Authorization": f"Bearer {token}"}
            assert c.post("/v1/documents", json=DOC, headers=headers).status_code == 403
            assert c.delete("/v1/documents/000_c0997ec08ee8e834", headers=headers).status_code == 403
        assert len(c.get("/v1/documents").json()) == seed_service.store.count()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/v1/ask", {"question": "Who took Konna?"}),
     ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "Who took Konna?"}]}),
     ("GET", "/v1/search?q=Konna", None)],
)
def test_expensive_endpoints_are_rate_limited_and_recover(seed_service, method, path, body) -> None:
    with app_for(seed_service, rate_limit="2/second") as c:
        for _ in range(5):  # the limit counts per whole second: retry if the requests straddled two
            time.sleep(1.0 - time.time() % 1.0)
            second = int(time.time())
            responses = [c.request(method, path, json=body) for _ in range(3)]
            if int(time.time()) == second:
                break
        assert [r.status_code for r in responses] == [200, 200, 429]
        limited = responses[-1]
        assert limited.headers["Retry-After"] == "1"
        assert set(limited.json()) == {"error", "detail"}
        time.sleep(1.0 - time.time() % 1.0)
        assert c.request(method, path, json=body).status_code == 200


def test_chat_body_over_64_kib_is_413(client) -> None:
    body = {"messages": [{"role": "user", "content": "x" * (65 * 1024)}]}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 413
    assert "65536" in response.json()["detail"]


@pytest.mark.parametrize(("path", "limit", "headers"),
                         [("/v1/ask", ASK_MAX_BODY, {}),
                          ("/v1/documents", 8 * 1024 * 1024, {"Authorization": f"Bearer {KEY}"})])
def test_a_chunked_body_cannot_slip_past_the_size_limit(client, path, limit, headers) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        yield b'{"text": "'
        for _ in range(limit // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'

    response = client.post(path, content=chunks(), headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 413
    assert str(limit) in response.json()["detail"]


def test_without_configured_origins_no_cors_headers_are_sent(seed_service) -> None:
    with app_for(seed_service) as c:
        preflight = c.options("/v1/ask", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        simple = c.post("/v1/ask", json={"question": "Who took Konna?"}, headers={"Origin": ORIGIN})
    for response in (preflight, simple):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_cors_answers_only_the_configured_origin_and_methods(seed_service) -> None:
    with app_for(seed_service, cors_origins=(ORIGIN,)) as c:
        simple = c.post("/v1/ask", json={"question": "Who took Konna?"}, headers={"Origin": ORIGIN})
        assert simple.headers["access-control-allow-origin"] == ORIGIN
        assert "Origin" in simple.headers["vary"]
        for origin in ("null", "https://news.example.evil.test", "http://news.example"):
            response = c.post("/v1/ask", json={"question": "Who took Konna?"}, headers={"Origin": origin})
            assert "access-control-allow-origin" not in response.headers, origin
        put = c.options("/v1/ask", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"})
        assert "PUT" not in put.headers.get("access-control-allow-methods", "")
        assert put.status_code >= 400
        odd = c.options("/v1/ask", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "x-evil"})
        assert odd.status_code >= 400
