"""The bundled LLM backend: llama.cpp's OpenAI-compatible server (xllamacpp, prebuilt) on loopback.

``python -m qa.llm_local [--port N] [--model NAME] -- COMMAND...`` checks (or assembles) the
bundled model, starts the server, waits until it answers, runs COMMAND with ``QA_MODE=llm`` and
``QA_LLM_BASE_URL`` pointing at it, and stops the server when COMMAND exits. ``--foreground``
is the server process itself (``LocalLLMServer`` runs it as a child, so a crash of llama.cpp
never takes the service with it).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from qa.bundled_model import DEFAULT_MODEL, ensure_model, print_progress

N_CTX = 4096
THREADS = 2  # the machines this targets have two cores


def find_model(name: str | None = None, cache_dir: Path | None = None) -> Path:
    """The checked bundled GGUF file (``QA_LLM_GGUF`` overrides it, unchecked: the user's file)."""
    override = os.environ.get("QA_LLM_GGUF")
    if override:
        return Path(override)
    name = name or os.environ.get("QA_LLM_BUNDLED", "").strip() or DEFAULT_MODEL
    cache = cache_dir or (Path(d) if (d := os.environ.get("QA_LLM_MODEL_DIR")) else None)
    return ensure_model(name, cache, progress=print_progress(f"assembling {name}"))


def run_foreground(model: Path, port: int, threads: int = THREADS, n_ctx: int = N_CTX) -> None:
    """Serve ``model`` on 127.0.0.1:``port`` in this process until it is terminated."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cors_origins = f"http://127.0.0.1:{port}"  # no web page elsewhere may call it from a browser
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    parent = os.getppid()
    server = xllamacpp.Server(params)  # returns once the model is loaded and the port listens
    print(f"llama.cpp server listening at {server.listening_address}", flush=True)
    # exit at once: a clean shutdown of llama.cpp waits for the answer being generated
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        # a parent that dies without stopping us (SIGKILL, a re-raised SIGTERM) must not leave
        # a model holding a GB of memory and both cores
        while os.getppid() == parent:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    os._exit(0)


class LocalLLMServer:
    """The bundled model's server in a child process on loopback; stops it on exit."""

    def __init__(
        self, port: int = 8081, model: Path | None = None, log_path: Path | None = None,
        threads: int = THREADS,
    ) -> None:
        self.port = port
        self.model = model or find_model()
        self.log_path = log_path
        self.threads = threads
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server process (returns at once; see ``wait_ready``)."""
        command = [
            sys.executable, "-m", "qa.llm_local", "--foreground", "--gguf", str(self.model),
            "--port", str(self.port), "--threads", str(self.threads),
        ]
        log = self.log_path.open("wb") if self.log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        finally:
            if self.log_path:
                log.close()  # type: ignore[union-attr]

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Block until ``/v1/models`` answers 200; RuntimeError if the server dies or is too slow."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise RuntimeError(f"llama.cpp server exited before it was ready{self._log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama.cpp server not ready after {timeout:g}s{self._log_tail()}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Terminate the server (kill it if it ignores SIGTERM)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _log_tail(self) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return ":\n" + self.log_path.read_text(errors="replace")[-3000:]

    def __enter__(self) -> LocalLLMServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve the bundled model, run a command against it, stop the model when the command ends."""
    parser = argparse.ArgumentParser(prog="python -m qa.llm_local", description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--model", default=None, help=f"bundled model name (default {DEFAULT_MODEL})")
    parser.add_argument("--gguf", type=Path, default=None, help="a GGUF file instead (not checked)")
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--foreground", action="store_true", help="be the server process itself")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "qa-llm-server.log")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run (e.g. qa serve)")
    args = parser.parse_args(argv)
    model = args.gguf or find_model(args.model)
    if args.foreground:
        run_foreground(model, args.port, args.threads)
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    # SIGTERM must unwind like Ctrl-C so the server (and the command) are stopped, not orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"starting llama.cpp server on port {args.port} (log: {args.log})", flush=True)
    with LocalLLMServer(args.port, model, args.log, args.threads) as server:
        print(f"llama.cpp server ready at {server.base_url} ({server.model.name})", flush=True)
        if not command:
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0
        env = {**os.environ, "QA_MODE": "llm", "QA_LLM_BASE_URL": server.base_url}
        try:
            return subprocess.call(command, env=env)
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
