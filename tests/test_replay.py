"""The red-team tool's replay transport: a prompt seen before is answered with the stored reply."""

from __future__ import annotations

import asyncio
import http.server
import threading

import httpx

from eval.replay import ReplayTransport


def test_a_repeated_request_is_replayed_and_a_new_one_forwarded():
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, content=f"reply {len(seen)}".encode())

    async def ask(bodies: list[dict[str, str]]) -> list[str]:
        replay = ReplayTransport(httpx.MockTransport(handler))
        async with httpx.AsyncClient(transport=replay) as client:
            return [(await client.post("http://llm/v1/chat", json=b)).text for b in bodies]

    replies = asyncio.run(ask([{"q": "a"}, {"q": "b"}, {"q": "a"}]))
    assert replies == ["reply 1", "reply 2", "reply 1"] and len(seen) == 2


def test_kept_replies_answer_a_later_run_without_asking_again(tmp_path):
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, headers={"x-run": str(len(seen))}, content=f"reply {len(seen)}".encode())

    async def ask(bodies: list[dict[str, str]]) -> list[tuple[str, str]]:
        replay = ReplayTransport(httpx.MockTransport(handler), keep=tmp_path / "replies.jsonl")
        async with httpx.AsyncClient(transport=replay) as client:
            answers = [await client.post("http://llm/v1/chat", json=b) for b in bodies]
        return [(r.text, r.headers["x-run"]) for r in answers]

    first = asyncio.run(ask([{"q": "a"}, {"q": "b"}]))
    # a new transport (a new run) replays both from the file, byte for byte, and forwards only "c"
    later = asyncio.run(ask([{"q": "b"}, {"q": "c"}, {"q": "a"}]))
    assert later == [first[1], ("reply 3", "3"), first[0]] and len(seen) == 3


class _KeepAlive(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the connection stays open for the next request

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_new_requests_work_from_one_event_loop_to_the_next():
    """``ask_sync`` runs each question in its own event loop; the transport outlives them."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/chat"
    replay = ReplayTransport()

    async def ask(body: str) -> str:
        client = httpx.AsyncClient(transport=replay)  # left open, as the service's client is
        return (await client.post(url, content=body)).text

    try:
        assert [asyncio.run(ask(b)) for b in ("a", "b", "c")] == ["a", "b", "c"]
    finally:
        server.shutdown()
        server.server_close()
