"""Follow-up questions end to end: the official openai client and the widget in Chromium, each
against a real server on loopback over the seed index."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from test_widget_browser import Chat, browser, open_citation
from test_widget_browser import server as widget_server

from eval.local_server import LocalServer
from qa.records import Citation

__all__ = ["browser", "widget_server"]  # fixtures shared with the widget tests

pytestmark = pytest.mark.slow

FIRST = "When did Diabaly fall to the Islamists?"
FOLLOW_UP = "On what date did they leave it?"
STANDALONE = "On what date did they leave Diabaly, regarding Islamists?"
LEFT_ON = re.compile(r"January 18|18 January|Friday")


@pytest.fixture(scope="module")
def server(seed_settings: Any, seed_index: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of `qa serve` over the seed index in a subprocess."""
    log_path = tmp_path_factory.mktemp("followup-server") / "server.log"
    with LocalServer.start(seed_settings.index.data_dir, env={"QA_RATE_LIMIT": "off"},
                           log_path=log_path) as running:
        yield running.url


def _conversation(first_reply: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Answer from the news."},
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": first_reply},
        {"role": "user", "content": FOLLOW_UP},
    ]


def test_openai_client_follows_up_in_a_multi_message_conversation(server: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="not-needed", max_retries=0)
    first = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": FIRST}]
    ).choices[0].message.content or ""
    messages: Any = _conversation(first)
    completion = client.chat.completions.create(model="newsqa", messages=messages)
    content = completion.choices[0].message.content or ""
    answer_text = content.partition("\n\nSources:\n")[0]
    assert LEFT_ON.search(answer_text), content
    citations = msgspec.json.decode(
        json.dumps(completion.model_extra["citations"]), type=list[Citation]  # type: ignore[index]
    )
    assert citations
    for c in citations:
        text = httpx.get(f"{server}/v1/documents/{c.doc_id}").json()["text"]
        assert text[c.start:c.end] == c.quote
    alone = client.chat.completions.create(model="newsqa", messages=messages[-1:])
    assert alone.choices[0].message.content != content

    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(model="newsqa", messages=messages, stream=True)
    )
    assert streamed == content


def test_widget_two_turn_conversation_shows_the_standalone_question(
    browser: Any, widget_server: str
) -> None:
    from playwright.sync_api import expect

    chat = Chat(browser, widget_server, color_scheme="light", reduced_motion="reduce")
    sent: list[dict[str, Any]] = []
    chat.page.on("request", lambda r: sent.append(json.loads(r.post_data or "{}"))
                 if r.url.endswith("/v1/ask") else None)
    try:
        chat.open()
        first = chat.ask(FIRST)
        expect(first).to_have_class(re.compile(r"\bdone\b"))
        assert first.locator(".answering").count() == 0

        second = chat.ask(FOLLOW_UP)
        expect(second).to_have_class(re.compile(r"\bdone\b"))
        expect(second.locator(".answering")).to_have_text(f"Answering: {STANDALONE}")
        assert LEFT_ON.search(str(second.locator(".answer").text_content()))
        assert sent[-1]["history"][0]["question"] == FIRST
        cite = second.locator(".cite").first
        quote = open_citation(chat, cite)
        doc = httpx.get(f"{widget_server}/v1/documents/{cite.get_attribute('data-doc-id')}").json()
        assert quote and quote in doc["text"]
        chat.screenshot("widget-follow-up.png")
        chat.part(".pop-close").click()

        chat.part(".restart").click()
        assert chat.part(".msg").count() == 0
        third = chat.ask(FOLLOW_UP)
        assert third.locator(".answering").count() == 0
        assert "history" not in sent[-1]
        assert not chat.errors
    finally:
        chat.close()
