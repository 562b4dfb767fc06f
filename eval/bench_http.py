"""The service under load: a real ``qa serve`` on a free loopback port, driven over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from eval.local_server import LocalServer

READY_TIMEOUT = 120.0


def start_server(data_dir: Path, log_path: Path) -> LocalServer:
    """Start ``qa serve`` over ``data_dir`` without rate limits and wait until it is ready."""
    return LocalServer.start(data_dir, env={"QA_RATE_LIMIT": "off"}, ready_timeout=READY_TIMEOUT,
                             log_path=log_path)


@dataclass
class Sequential:
    """One client asking questions one after another."""

    latencies: list[float]
    errors: int
    abstained: int


def ask_sequentially(server: LocalServer, questions: Sequence[str]) -> Sequential:
    """POST each question to /v1/ask (extractive mode) over one keep-alive connection."""
    latencies: list[float] = []
    errors = abstained = 0
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for question in questions:
            started = time.perf_counter()
            response = client.post("/v1/ask", json={"question": question, "mode": "extractive"})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors += 1
            elif response.json().get("abstained"):
                abstained += 1
    return Sequential(latencies, errors, abstained)


@dataclass
class Load:
    """Many clients at once: completed requests, errors, latencies and wall time."""

    completed: int
    errors: int
    latencies: list[float]
    seconds: float

    @property
    def rate(self) -> float:
        """Requests completed per second."""
        return self.completed / self.seconds if self.seconds else 0.0


async def _drive(
    url: str, questions: Sequence[str], clients: int, seconds: float | None, total: int | None
) -> Load:
    latencies: list[float] = []
    errors = 0
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()

    async def client_loop(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal errors, issued
        i = offset
        while True:
            if seconds is not None and time.perf_counter() - started >= seconds:
                return
            if total is not None and issued >= total:
                return
            issued += 1
            question = questions[i % len(questions)]
            i += clients
            t0 = time.perf_counter()
            try:
                response = await client.post("/v1/ask", json={"question": question})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
        await asyncio.gather(*(client_loop(client, k) for k in range(clients)))
    return Load(len(latencies), errors, latencies, time.perf_counter() - started)


def load(
    server: LocalServer, questions: Sequence[str], clients: int, *, seconds: float | None = None,
    total: int | None = None,
) -> Load:
    """``clients`` concurrent clients asking in a loop, for ``seconds`` or ``total`` requests."""
    return asyncio.run(_drive(server.url, questions, clients, seconds, total))
