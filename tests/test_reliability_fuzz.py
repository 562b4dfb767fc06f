"""Schemathesis against the service's own OpenAPI schema, in process: every operation, every check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.python.asgi import shutdown_lifespans

from qa.app import create_app
from qa.settings import IndexSettings, ServerSettings, Settings

pytestmark = pytest.mark.slow

ADMIN_KEY = "fuzz-admin-key"
# A longer, randomised hunt: QA_FUZZ_EXAMPLES=200 QA_FUZZ_RANDOM=1 pytest tests/test_reliability_fuzz.py
EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "30"))
DERANDOMIZE = not os.environ.get("QA_FUZZ_RANDOM")
# The app reads a private, writable copy of the seed index, put there before its first request.
DATA_DIR = Path(tempfile.gettempdir()) / f"qa-fuzz-{os.getpid()}"
APP = create_app(replace(
    Settings(), index=IndexSettings(data_dir=DATA_DIR),
    server=ServerSettings(admin_key=ADMIN_KEY, rate_limit="off"),
))
# The document the app serves at /schema/openapi.json (read without starting the app's lifespan).
schema = schemathesis.openapi.from_dict(TestClient(APP).get("/schema/openapi.json").json())
schema.app = APP  # cases, and the checks' own probes (auth removed), go to the app in process


@pytest.fixture(scope="module", autouse=True)
def writable_index(seed_settings, seed_index) -> Iterator[None]:
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    shutil.copytree(seed_settings.index.data_dir, DATA_DIR)
    yield
    shutdown_lifespans()  # closes the service and restores the thread settings the lifespan changed
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def test_the_live_server_passes_every_check_of_the_schemathesis_cli(tmp_path: Path) -> None:
    """`schemathesis run --checks all` against `qa serve` on loopback, with the admin key: no issue."""
    from eval.local_server import LocalServer

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    env = {"QA_ADMIN_KEY": ADMIN_KEY, "QA_RATE_LIMIT": "off"}
    with LocalServer.start(data, env=env, log_path=tmp_path / "server.log") as server:
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"{server.url}/schema/openapi.json",
             "--checks", "all", "-H", f"Authorization: Bearer {ADMIN_KEY}", "--workers", "1",
             "--max-examples", str(EXAMPLES), *(["--seed", "1"] if DERANDOMIZE else [])],
            capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"},
            cwd=tmp_path,  # schemathesis keeps its cache in the working directory
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout
