"""The red-team tool's replay transport: a prompt seen before is answered with the stored reply."""

from __future__ import annotations

import asyncio

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
