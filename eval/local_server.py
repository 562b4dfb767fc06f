"""A real ``qa serve`` in a subprocess on a free 127.0.0.1 port, for the benchmarks, the soak and
the tests that need the service over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from eval.bench_scale import rss_mb

ROOT = Path(__file__).resolve().parent.parent
# Fine-grained, so that cold_start_s is accurate to about 10 ms.
POLL_INTERVAL = 0.01
LOG_TAIL = 4000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A started ``qa serve`` subprocess; a context manager that stops it on exit."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.cold_start_s = 0.0  # process start to the first /readyz 200

    @classmethod
    def start(
        cls, data_dir: Path, *, env: dict[str, str] | None = None, port: int | None = None,
        ready_timeout: float = 180.0, log_path: Path | None = None,
    ) -> LocalServer:
        """Start ``qa serve`` over ``data_dir`` and wait until ``/readyz`` answers 200.

        RuntimeError with the tail of the server's log if it exits or is not ready in time.
        """
        port = port or free_port()
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="qa-serve-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        # the service is what these servers measure: no bundled model unless a caller asks for it
        full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_LLM": "off", "QA_DATA_DIR": str(data_dir),
                    **(env or {})}
        command = [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log_path.open("ab") as log:
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log,
                                       stderr=subprocess.STDOUT)
        server = cls(process, port, log_path)
        try:
            server.cold_start_s = server._wait_ready(started, ready_timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self, started: float, timeout: float) -> float:
        with httpx.Client(timeout=5.0) as client:
            while time.perf_counter() - started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"qa serve exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(POLL_INTERVAL)
        raise RuntimeError(f"qa serve was not ready after {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        """The tail of the server's log."""
        return self.log_path.read_text(errors="replace")[-LOG_TAIL:]

    def rss_mb(self) -> float:
        """The server's resident memory now."""
        return rss_mb(self.process.pid)[0]

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up, as in a crash."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        """Terminate the server (killed if it does not stop within ``timeout`` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
