"""`qa eval --url`: a rate-limited server is waited out (429 + Retry-After); errors make the run fail."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from eval.cli import exit_code
from eval.gold import load_gold
from eval.runner import RATE_LIMIT_RETRIES, HttpBackend, retry_after, run_eval

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
GOLD = load_gold()
ABSTAIN = {"question": "q", "answer": "The sources don't answer this.", "abstained": True,
           "citations": [], "mode": "extractive"}


def limited_server(free_after: int) -> tuple[httpx.Client, list[str]]:
    """A server that answers 429 (Retry-After: 7) to the first ``free_after`` requests of each kind."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if seen.count(request.url.path) <= free_after:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "too many"})
        return httpx.Response(200, json=ABSTAIN if request.url.path == "/v1/ask" else [])

    return httpx.Client(transport=httpx.MockTransport(handle), base_url="http://qa.test"), seen


def test_retry_after_reads_seconds_and_http_dates_and_caps_them() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(None) == 1.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == 120.0
    assert retry_after("soon") == 1.0


def test_a_429_is_waited_out_for_its_retry_after() -> None:
    client, seen = limited_server(free_after=2)
    slept: list[float] = []
    backend = HttpBackend("http://qa.test", SEEDS, 8, client=client, sleep=slept.append)
    abstain = next(q for q in GOLD if q.must_abstain)
    [result] = run_eval([abstain], backend)
    assert result.error is None, result.error
    assert slept == [7.0, 7.0]
    assert seen == ["/v1/ask"] * 3
    assert backend.waited == 14.0


def test_a_server_that_stays_limited_fails_the_run() -> None:
    client, _ = limited_server(free_after=10**6)
    slept: list[float] = []
    backend = HttpBackend("http://qa.test", SEEDS, 8, client=client, sleep=slept.append)
    results = run_eval(GOLD[:2], backend)
    assert all(r.error and "429" in r.error for r in results)
    assert len(slept) == 2 * RATE_LIMIT_RETRIES
    assert exit_code(results, None) == 2
    client_ok, _ = limited_server(free_after=0)
    ok = run_eval(GOLD[:1], HttpBackend("http://qa.test", SEEDS, 8, client=client_ok))
    assert exit_code([*ok, *results], None) == 1  # some errors: non-zero, even without --check
    assert exit_code(ok, None) == 0


@pytest.mark.slow
def test_a_real_rate_limited_server_is_waited_out(seed_service) -> None:
    from litestar.testing import TestClient

    from qa.app import create_app
    from qa.settings import ServerSettings

    settings = replace(seed_service.settings, server=ServerSettings(rate_limit="3/second"))
    questions = list({q.category: q for q in GOLD}.values())[:4]
    with TestClient(create_app(settings, service=seed_service)) as client:
        backend = HttpBackend(str(client.base_url), SEEDS, 8, client=client)
        results = run_eval(questions, backend)
    assert [r.error for r in results] == [None] * len(results)
    assert backend.waited > 0
