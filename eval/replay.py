"""An HTTP transport that answers a request it has seen before with the reply it got then: asked
twice with the same prompt, the model gives the same words, and only a new prompt costs a call."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from qa.service import QAService

_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})  # the body is read whole


class ReplayTransport(httpx.AsyncBaseTransport):
    """Forwards each new request; replays the stored reply of a request with the same body."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, keep: Path | None = None) -> None:
        self.inner = inner
        self.replies: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
        self.calls = 0
        # replies kept in a file (JSON lines) outlive the run: a rerun after a change that leaves the
        # prompts alone (the verifier's, say) asks the model nothing and judges the same words
        self.keep = keep
        if keep is not None and keep.exists():
            for line in keep.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                self.replies[row["key"]] = (row["status"], [tuple(h) for h in row["headers"]],
                                            base64.b64decode(row["body"]))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = hashlib.sha256(request.url.raw_path + b"\0" + await request.aread()).hexdigest()
        if key not in self.replies:
            # each ``ask_sync`` runs its own event loop: a pooled connection from an earlier, closed
            # loop cannot be used or closed, so without a given transport each call has its own
            inner = self.inner or httpx.AsyncHTTPTransport()
            try:
                response = await inner.handle_async_request(request)
                try:
                    body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
                finally:
                    await response.aclose()
            finally:
                if self.inner is None:
                    await inner.aclose()
            self.calls += 1
            headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED]
            if response.status_code != 200:
                return httpx.Response(response.status_code, headers=headers, content=body, request=request)
            self.replies[key] = (response.status_code, headers, body)
            if self.keep is not None:
                row = {"key": key, "status": response.status_code, "headers": headers,
                       "body": base64.b64encode(body).decode("ascii")}
                with self.keep.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(row) + "\n")
        status, headers, body = self.replies[key]
        return httpx.Response(status, headers=headers, content=body, request=request)

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()


def replaying(service: QAService, replay: ReplayTransport | None) -> QAService:
    """``service`` with its model calls going through ``replay`` (when given)."""
    if replay is not None:
        gen = service.settings.generator
        service._http = httpx.AsyncClient(  # the client the service's generators share
            transport=replay, timeout=httpx.Timeout(gen.llm_timeout, connect=min(5.0, gen.llm_timeout)))
    return service
