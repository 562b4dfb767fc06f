"""A first look in a real browser with no network: Swagger UI, the favicon, the demo's suggestions."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from eval.local_server import LocalServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
ANSWER_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def server(seed_settings: Any, seed_index: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`qa serve` on loopback over a private copy of the seed index."""
    workdir = tmp_path_factory.mktemp("docs-server")
    shutil.copytree(seed_settings.index.data_dir, workdir / "data")
    with LocalServer.start(workdir / "data", env={"QA_RATE_LIMIT": "off"},
                           log_path=workdir / "server.log") as server:
        yield server.url


@pytest.fixture()
def offline_page(server: str) -> Iterator[tuple[Any, list[str]]]:
    """A Chromium tab in which every request off the loopback interface is blocked (and recorded)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is required: apt-get install chromium"
    blocked: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if urlsplit(url).hostname in LOOPBACK or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.route("**/*", route)
        yield context.new_page(), blocked
        browser.close()


def test_swagger_renders_every_operation_with_no_network(server: str, offline_page: Any) -> None:
    from playwright.sync_api import expect

    page, blocked = offline_page
    page.goto(f"{server}/schema/swagger")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible(timeout=30_000)
    shown = {" ".join(text.split()) for text in operations.all_inner_texts()}
    paths = httpx.get(f"{server}/schema/openapi.json").json()["paths"]
    assert shown >= set(paths), shown
    assert page.locator(".opblock-summary-method", has_text="DELETE").count() >= 1
    assert blocked == []


def test_the_favicon_is_served(server: str) -> None:
    response = httpx.get(f"{server}/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.mark.parametrize("query", ["", "?mode=launcher"])
def test_a_suggestion_is_asked_when_clicked(server: str, offline_page: Any, query: str) -> None:
    from playwright.sync_api import expect

    page, blocked = offline_page
    page.goto(f"{server}/{query}")
    page.wait_for_function("customElements.get('qa-chat') !== undefined")
    suggestion = page.get_by_role("button", name="Who took Konna and when?")
    suggestion.click()
    expect(page.locator("qa-chat .msg.user")).to_have_text("Who took Konna and when?")
    answer = page.locator("qa-chat .msg.bot").first
    expect(answer).to_have_class(re.compile(r"\bdone\b"), timeout=ANSWER_TIMEOUT_MS)
    marker = answer.locator(".cite").first
    assert float(marker.evaluate("b => parseFloat(getComputedStyle(b).fontSize)")) >= 13
    assert blocked == []
