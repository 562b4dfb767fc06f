"""The <qa-chat> widget end to end: the real server on loopback, driven in real headless Chromium."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from eval.local_server import LocalServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
]
ADMIN_KEY = "widget-test-admin-key"
ANSWER_TIMEOUT_MS = 90_000
KONNA = "Who took Konna and when?"
UNANSWERABLE = "What is the population of Timbuktu?"
MARKUP = "<img src=x onerror=alert(1)>"
# An article made up for this test: its banner sentence carries live-looking markup.
MARKUP_ARTICLE = (
    "Quillmere harvest fair draws record crowd\n\n"
    "The Quillmere harvest fair drew a record crowd of 12,000 visitors on Saturday, "
    "organisers said.\n\n"
    f"A hand-painted banner over the fair's main gate read {MARKUP} in tall red letters.\n\n"
    "The organisers said the banner had been painted by pupils of the village school as a joke "
    "about the fair's new website.\n"
)
MARKUP_QUESTION = "What did the banner over the Quillmere fair's main gate read?"

# Records every aria-busy value of the message list and whether answer text was on screen
# before its message was final, i.e. whether the answer was rendered while it streamed.
WATCH_LOG = """() => {
  const log = document.querySelector("qa-chat").shadowRoot.querySelector(".log");
  window.__busy = [];
  window.__streamed = false;
  new MutationObserver(() => {
    window.__busy.push(log.getAttribute("aria-busy"));
    if (log.querySelector(".msg.bot.streaming .answer")) window.__streamed = true;
  }).observe(log, {attributes: true, childList: true, subtree: true, characterData: true});
}"""
SHADOW_ACTIVE = """() => {
  const host = document.activeElement;
  if (!host || host.tagName !== "QA-CHAT") return null;
  const el = host.shadowRoot.activeElement;
  return el ? {cls: el.className, id: el.id, text: el.textContent} : null;
}"""


@pytest.fixture(scope="module")
def server(seed_settings: Any, seed_index: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m qa.cli serve`` on a free loopback port over a private copy of the seed index."""
    workdir = tmp_path_factory.mktemp("widget-server")
    data_dir = workdir / "data"
    shutil.copytree(seed_settings.index.data_dir, data_dir)
    env = {"QA_SEEDS_DIR": str(ROOT / "seeds"), "QA_ADMIN_KEY": ADMIN_KEY}
    with LocalServer.start(data_dir, env=env, log_path=workdir / "server.log") as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (its own browser downloads are not used)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is required: apt-get install chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Chat:
    """A browser tab on the demo page, with the widget's parts at hand."""

    def __init__(self, browser: Any, base: str, **context: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 860}, **context)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = base

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.base}/{query}")
        self.page.wait_for_function("customElements.get('qa-chat') !== undefined")

    def part(self, selector: str) -> Any:
        return self.page.locator(f"qa-chat {selector}")

    def wait_answer(self, index: int) -> Any:
        """The index-th bot message once it is final (answered, abstained or failed)."""
        from playwright.sync_api import expect

        message = self.part(".msg.bot").nth(index)
        expect(message).to_have_class(
            re.compile(r"\b(done|abstained|error)\b"), timeout=ANSWER_TIMEOUT_MS
        )
        return message

    def ask(self, question: str) -> Any:
        """Type a question, press Enter, and return its final bot message."""
        index = self.part(".msg.bot").count()
        self.part("input").fill(question)
        self.part("input").press("Enter")
        return self.wait_answer(index)

    def shadow(self, script: str) -> Any:
        """Run a function body with ``root`` bound to the widget's shadow root."""
        return self.page.evaluate(
            f"() => {{ const root = document.querySelector('qa-chat').shadowRoot; {script} }}"
        )

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name))

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def chat(browser: Any, server: str) -> Iterator[Chat]:
    """A fresh tab (light scheme, reduced motion so screenshots are never mid-animation)."""
    tab = Chat(browser, server, color_scheme="light", reduced_motion="reduce")
    yield tab
    tab.close()


def api_answer(base: str, question: str) -> dict[str, Any]:
    """The same question through the JSON API, for the citations the widget should show."""
    response = httpx.post(f"{base}/v1/ask", json={"question": question}, timeout=120)
    response.raise_for_status()
    return response.json()


def document_text(base: str, doc_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/documents/{doc_id}", timeout=30)
    response.raise_for_status()
    return response.json()


def open_citation(chat: Chat, button: Any) -> str:
    """Click a citation button and return the highlighted quote once the article has loaded."""
    from playwright.sync_api import expect

    button.click()
    expect(chat.part(".pop")).to_have_attribute("data-state", "loaded", timeout=30_000)
    return str(chat.part(".pop mark").text_content())


def test_streamed_answer_cites_the_exact_source_words(chat: Chat, server: str) -> None:
    chat.open()
    chat.page.evaluate(WATCH_LOG)
    message = chat.ask(KONNA)
    assert "done" in str(message.get_attribute("class")), message.inner_text()
    assert "Konna" in message.locator(".answer").inner_text()
    busy = chat.page.evaluate("window.__busy")
    assert "true" in busy and busy[-1] == "false", busy
    assert chat.page.evaluate("window.__streamed"), "the answer appeared only once it was complete"

    expected = api_answer(server, KONNA)
    citations = {c["marker"]: c for c in expected["citations"]}
    buttons = message.locator("button.cite")
    assert buttons.count() == len(citations) > 0
    for i in range(buttons.count()):
        marker = int(buttons.nth(i).inner_text())
        citation = citations[marker]
        quote = open_citation(chat, buttons.nth(i))
        doc = document_text(server, citation["doc_id"])
        assert quote == doc["text"][citation["start"]:citation["end"]] == citation["quote"]
        context = chat.part(".pop-quote").inner_text()
        assert len(context) > len(quote) or quote in doc["text"].split("\n")
        assert chat.part(".pop-title").text_content() == (doc["title"] or citation["title"])
        if doc["published"]:
            assert chat.part(".pop-meta").inner_text() != ""
        if i == 0:
            chat.screenshot("widget-answer-quote.png")
    chat.page.keyboard.press("Escape")
    assert chat.part(".pop").is_hidden()
    assert chat.dialogs == [] and chat.errors == []


def test_unanswerable_question_reads_as_an_abstention(chat: Chat) -> None:
    chat.open()
    message = chat.ask(UNANSWERABLE)
    classes = str(message.get_attribute("class"))
    assert "abstained" in classes and "error" not in classes, classes
    assert "The sources don't answer this" in message.inner_text()
    assert message.locator("button.cite").count() == 0
    assert message.locator(".retry").count() == 0
    chat.screenshot("widget-abstention.png")
    assert chat.dialogs == [] and chat.errors == []


def test_markup_in_a_document_is_shown_as_text(chat: Chat, server: str) -> None:
    added = httpx.post(
        f"{server}/v1/documents",
        json={"text": MARKUP_ARTICLE, "doc_id": "quillmere-fair", "title": f"Fair {MARKUP} report",
              "source": "Quillmere Gazette", "published": "2024-09-14"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=120,
    )
    assert added.status_code in (200, 201), added.text
    chat.open()
    message = chat.ask(MARKUP_QUESTION)
    assert "done" in str(message.get_attribute("class")), message.inner_text()
    assert MARKUP in message.locator(".answer").inner_text()
    button = message.locator("button.cite[data-doc-id='quillmere-fair']").first
    quote = open_citation(chat, button)
    assert MARKUP in quote
    assert MARKUP in str(chat.part(".pop-title").text_content())
    chat.screenshot("widget-markup-as-text.png")
    assert chat.shadow("return root.querySelectorAll('img').length;") == 0
    assert chat.page.evaluate("document.querySelectorAll('img').length") == 0
    assert chat.dialogs == [] and chat.errors == []


def press_until(chat: Chat, key: str, wanted: str, presses: int = 40) -> dict[str, str]:
    """Press ``key`` until the widget's focused element matches the ``wanted`` class or id."""
    for _ in range(presses):
        chat.page.keyboard.press(key)
        active = chat.page.evaluate(SHADOW_ACTIVE)
        if active and (wanted in active["cls"].split() or active["id"] == wanted):
            return dict(active)
    pytest.fail(f"{key} never reached {wanted!r} in the widget")


def test_keyboard_only_question_citation_and_escape(browser: Any, server: str) -> None:
    chat = Chat(browser, server, color_scheme="dark", reduced_motion="reduce")
    try:
        chat.open()
        press_until(chat, "Tab", "q")
        chat.page.keyboard.type(KONNA)
        chat.page.keyboard.press("Enter")
        message = chat.wait_answer(0)
        assert "done" in str(message.get_attribute("class")), message.inner_text()

        cite = press_until(chat, "Shift+Tab", "cite")
        chat.page.evaluate("window.__opener = document.querySelector('qa-chat').shadowRoot.activeElement")
        assert chat.shadow("return root.activeElement.matches(':focus-visible');")
        assert chat.shadow("return getComputedStyle(root.activeElement).outlineStyle;") != "none"
        for key in ("Enter", " "):
            chat.page.keyboard.press(key)
            assert chat.part(".pop").is_visible()
            assert chat.shadow("return root.activeElement === root.querySelector('.pop');")
            assert chat.part(".pop mark").inner_text() != ""
            assert chat.shadow("return getComputedStyle(root.querySelector('.pop')).animationName;") == "none"
            if key == "Enter":
                from playwright.sync_api import expect

                expect(chat.part(".pop")).to_have_attribute("data-state", "loaded", timeout=30_000)
                chat.screenshot("widget-keyboard-dark.png")
            chat.page.keyboard.press("Escape")
            assert chat.part(".pop").is_hidden()
            assert chat.page.evaluate(
                "document.querySelector('qa-chat').shadowRoot.activeElement === window.__opener"
            ), f"focus did not return to citation [{cite['text']}]"

        chat.open("?mode=launcher")
        assert chat.part(".panel").is_hidden()
        press_until(chat, "Tab", "launcher")
        chat.page.keyboard.press("Enter")
        assert chat.part(".panel").is_visible()
        assert chat.page.evaluate(SHADOW_ACTIVE)["id"] == "q"
        chat.screenshot("widget-launcher-open.png")
        chat.page.keyboard.press("Escape")
        assert chat.part(".panel").is_hidden()
        assert "launcher" in chat.page.evaluate(SHADOW_ACTIVE)["cls"].split()
        assert chat.dialogs == [] and chat.errors == []
    finally:
        chat.close()


def test_unreachable_service_offers_a_retry_that_recovers(chat: Chat) -> None:
    chat.open()
    chat.page.evaluate(
        f"document.querySelector('qa-chat').setAttribute('endpoint', 'http://127.0.0.1:{free_port()}')"
    )
    message = chat.ask(KONNA)
    assert "error" in str(message.get_attribute("class"))
    assert "Couldn't reach the answer service" in message.inner_text()
    chat.screenshot("widget-network-error.png")
    chat.page.evaluate("document.querySelector('qa-chat').removeAttribute('endpoint')")
    message.locator("button.retry").click()
    message = chat.wait_answer(0)
    assert "done" in str(message.get_attribute("class")), message.inner_text()
    assert message.locator("button.cite").count() > 0
    assert chat.dialogs == [] and chat.errors == []


@pytest.fixture(scope="module")
def limited_server(
    seed_settings: Any, seed_index: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second real server that lets each client ask two questions a minute."""
    workdir = tmp_path_factory.mktemp("widget-limited")
    data_dir = workdir / "data"
    shutil.copytree(seed_settings.index.data_dir, data_dir)
    env = {"QA_SEEDS_DIR": str(ROOT / "seeds"), "QA_RATE_LIMIT": "2/minute"}
    with LocalServer.start(data_dir, env=env, log_path=workdir / "server.log") as server:
        yield server.url


def test_rate_limited_question_says_when_to_try_again(browser: Any, limited_server: str) -> None:
    chat = Chat(browser, limited_server, color_scheme="light", reduced_motion="reduce")
    try:
        chat.open()
        for _ in range(2):  # within the limit: answered
            assert "done" in str(chat.ask(KONNA).get_attribute("class"))
        message = chat.ask(KONNA)  # the server answers 429 with Retry-After
        assert "error" in str(message.get_attribute("class"))
        text = message.inner_text()
        match = re.search(r"Too many questions right now\. Please try again in (\d+) seconds\.", text)
        assert match, text
        assert 1 <= int(match.group(1)) <= 60
        assert message.locator("button.retry").count() == 1  # waiting may help: retry is offered
        chat.screenshot("widget-rate-limited.png")
        assert chat.dialogs == [] and chat.errors == []
    finally:
        chat.close()
