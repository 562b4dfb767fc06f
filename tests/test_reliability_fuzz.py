"""Schemathesis against the service's own OpenAPI schema, in process: every operation, every check."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.python.asgi import shutdown_lifespans

from qa.app import create_app
from qa.service import QAService
from qa.settings import Settings

pytestmark = pytest.mark.slow

ADMIN_KEY = "fuzz-admin-key"
# The document the app serves at /schema/openapi.json (read without starting the app's lifespan).
schema = schemathesis.openapi.from_dict(
    TestClient(create_app(Settings())).get("/schema/openapi.json").json()
)


@pytest.fixture()
def app(fresh_service: QAService) -> Iterator[Litestar]:
    """The app over a private, writable copy of the seed index, with writes enabled."""
    server = replace(fresh_service.settings.server, admin_key=ADMIN_KEY, rate_limit="off")
    yield create_app(replace(fresh_service.settings, server=server), service=fresh_service)
    shutdown_lifespans()  # restores the thread settings the app's lifespan changed


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_schema(app: Litestar, case: schemathesis.Case) -> None:
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
