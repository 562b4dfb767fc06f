"""The bundled model as the service's LLM backend: started in the background by ``qa serve``.

While the model is checked, assembled or loaded, and whenever it has failed, ``base_url`` is None
and llm-mode answers come from the extractive generator with ``fallback_reason`` saying why
(``llm_loading`` / ``llm_failed``).
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
from pathlib import Path

from qa.settings import GeneratorSettings

log = logging.getLogger("qa.llm")

_current: BundledBackend | None = None


class BundledBackend:
    """Checks the bundled model and runs its server on a free loopback port, in the background."""

    def __init__(self, model: str, log_path: Path | None = None) -> None:
        self.model = model
        self.log_path = log_path or Path(tempfile.gettempdir()) / "qa-bundled-llm.log"
        self.status = "loading"  # loading | ready | failed
        self.problem: str | None = None
        self._server: object | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bundled-llm", daemon=True)

    @property
    def base_url(self) -> str | None:
        """The server's OpenAI-compatible URL once it answers; None before and after a failure."""
        from qa.llm_local import LocalLLMServer

        server = self._server
        if self.status != "ready" or not isinstance(server, LocalLLMServer):
            return None
        if not server.running:
            self.status, self.problem = "failed", "the bundled model's server exited"
            log.error("%s (log: %s)", self.problem, self.log_path)
            return None
        return server.base_url

    def start(self) -> BundledBackend:
        """Begin checking and loading the model; returns at once."""
        self._thread.start()
        return self

    def _run(self) -> None:
        from qa.llm_local import LocalLLMServer, find_model

        try:
            path = find_model(self.model)
            if self._stopped.is_set():
                return
            server = LocalLLMServer(port=_free_port(), model=path, log_path=self.log_path)
            self._server = server
            server.start()
            server.wait_ready(timeout=600)
            self.status = "ready"
            log.warning("bundled LLM %s ready at %s", self.model, server.base_url)
        except Exception as exc:  # any failure leaves the service answering extractively
            self.status, self.problem = "failed", str(exc)
            log.error("bundled LLM %s unavailable, answering extractively: %s", self.model, exc)

    def stop(self) -> None:
        """Stop the model's server (if it was started)."""
        from qa.llm_local import LocalLLMServer

        self._stopped.set()
        if isinstance(self._server, LocalLLMServer):
            self._server.stop()


def wanted(settings: GeneratorSettings) -> bool:
    """True when the service should run the bundled model itself."""
    return settings.llm_enabled and not settings.llm_base_url


def install(backend: BundledBackend | None) -> None:
    """Make ``backend`` the one llm-mode answers use (None: none)."""
    global _current
    _current = backend


def current() -> BundledBackend | None:
    """The installed bundled backend, if any."""
    return _current


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
