"""The chat body's schema says what the server accepts: a user message, and text in each of them."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from litestar.testing import TestClient

from qa.app import create_app

KONNA = "Who took Konna and when?"
BODIES: list[tuple[list[dict[str, Any]], bool]] = [
    ([{"role": "user", "content": KONNA}], True),
    ([{"role": "system", "content": "Be brief."}, {"role": "assistant"},
      {"role": "user", "content": KONNA}], True),
    ([{"role": "user", "content": [{"type": "image_url"}, {"type": "text", "text": KONNA}]}], True),
    ([], False),
    ([{"role": "system", "content": KONNA}], False),
    ([{"role": "assistant", "content": KONNA}, {"role": "tool", "content": KONNA}], False),
    ([{"role": "user", "content": " \t\u3000"}], False),
    ([{"role": "user"}], False),
    ([{"role": "user", "content": None}], False),
    ([{"role": "user", "content": KONNA}, {"role": "user", "content": ""}], False),
    ([{"role": "user", "content": ""}, {"role": "user", "content": KONNA}], False),
    ([{"role": "user", "content": [{"type": "image_url", "text": KONNA}]}], False),
    ([{"role": "user", "content": "x" * 1001}], False),
    ([{"role": "user", "content": "x" * 1001}, {"role": "user", "content": KONNA}], False),
]


@pytest.fixture(scope="module")
def client(seed_service) -> Any:
    with TestClient(create_app(service=seed_service)) as client:
        yield client


@pytest.fixture(scope="module")
def validator(client) -> jsonschema_rs.Draft202012Validator:
    spec = client.get("/schema/openapi.json").json()
    schema = {"$ref": "#/components/schemas/ChatCompletionRequest", "components": spec["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


@pytest.mark.slow
@pytest.mark.parametrize(("messages", "valid"), BODIES)
def test_schema_and_server_agree_on_chat_bodies(client, validator, messages, valid: bool) -> None:
    body = {"messages": messages}
    assert validator.is_valid(body) is valid
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == (200 if valid else 400), response.text
    if not valid and messages and all(m["role"] != "user" for m in messages):
        assert response.json()["detail"] == "The messages contain no user message to answer."
