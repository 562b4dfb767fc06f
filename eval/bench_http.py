"""The service under load: a real ``qa serve`` on a free loopback port, driven over HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from eval.bench_scale import rss_mb

READY_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A ``qa serve`` subprocess; ``cold_start_s`` is process start to the first ``/readyz`` 200."""

    process: subprocess.Popen[bytes]
    url: str
    cold_start_s: float
    requests_sent: int = field(default=0)

    def rss_mb(self) -> float:
        """The server's resident memory now."""
        return rss_mb(self.process.pid)[0]

    def stop(self) -> None:
        """Terminate the server (killed if it does not stop within 15 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(data_dir: Path, log_path: Path) -> Server:
    """Start ``qa serve`` over ``data_dir`` and wait until it is ready."""
    port = free_port()
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "QA_RATE_LIMIT": "off",
           "QA_HOST": "127.0.0.1", "QA_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    server = Server(process, url, 0.0)
    with httpx.Client(timeout=5.0) as client:
        while time.perf_counter() - started < READY_TIMEOUT:
            if process.poll() is not None:
                raise RuntimeError(f"qa serve exited with {process.returncode}; see {log_path}")
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    server.cold_start_s = time.perf_counter() - started
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    server.stop()
    raise RuntimeError(f"qa serve was not ready after {READY_TIMEOUT:.0f} s; see {log_path}")


@dataclass
class Sequential:
    """One client asking questions one after another."""

    latencies: list[float]
    errors: int
    abstained: int


def ask_sequentially(server: Server, questions: Sequence[str]) -> Sequential:
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
    server.requests_sent += len(questions)
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
    server: Server, questions: Sequence[str], clients: int, *, seconds: float | None = None,
    total: int | None = None,
) -> Load:
    """``clients`` concurrent clients asking in a loop, for ``seconds`` or ``total`` requests."""
    result = asyncio.run(_drive(server.url, questions, clients, seconds, total))
    server.requests_sent += result.completed
    return result
