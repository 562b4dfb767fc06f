"""What the OpenAPI document says beyond the handlers' types: error bodies, event streams, the admin
key, closed request objects, and OPTIONS answers that list every method of a path.

Schemathesis checks the running service against this document (tests/test_reliability_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Response, route
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, Schema, SecurityScheme
from litestar.typing import FieldDefinition

ADMIN_SCHEME = "adminKey"
SECURITY_SCHEMES: dict[str, Any] = {
    ADMIN_SCHEME: SecurityScheme(
        type="http", scheme="bearer",
        description="The admin key (QA_ADMIN_KEY); without one configured, writes are refused (403).",
    )
}
ADMIN_ONLY: list[dict[str, list[str]]] = [{ADMIN_SCHEME: []}]

ERROR_DESCRIPTIONS = {
    400: "The body, a parameter, the question or the document is invalid; the detail says which.",
    401: "The admin key is missing or wrong.",
    403: "Writes are disabled: no admin key is configured.",
    404: "No such document or model.",
    413: "The request body is larger than this endpoint's limit.",
    415: "The body is not declared as JSON.",
    429: "Too many requests from this client; retry after the seconds in Retry-After.",
    502: "The LLM backend failed.",
    503: "No usable index is loaded; the detail says how to fix it (`qa index`).",
}


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """Every error response: a short label and a message saying what was wrong."""

    error: str
    detail: str


def ok(data: type, description: str) -> dict[int, ResponseSpec]:
    """The 200 entry of an endpoint, without Litestar's random examples."""
    return {200: ResponseSpec(data_container=data, description=description, generate_examples=False)}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """The error statuses an endpoint answers with, all in the ErrorBody shape (429 everywhere)."""
    return {
        code: ResponseSpec(data_container=ErrorBody, description=ERROR_DESCRIPTIONS[code],
                           generate_examples=False)
        for code in sorted({*codes, 429})
    }


def event_stream(*event_names: str) -> type[Operation]:
    """An Operation whose 200 may also be Server-Sent Events (one event per schema match)."""
    event = Schema(
        type="object",  # type: ignore[arg-type]
        required=["event", "data"],
        properties={
            "event": Schema(enum=list(event_names)) if event_names else Schema(type="string"),  # type: ignore[arg-type]
            "data": Schema(type="string"),  # type: ignore[arg-type]
        },
    )

    @dataclass
    class StreamingOperation(Operation):
        def __post_init__(self) -> None:
            success = (self.responses or {}).get("200")
            content = getattr(success, "content", None)
            if content is not None:
                content["text/event-stream"] = OpenAPIMediaType(schema=event)

    return StreamingOperation


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Structs that refuse unknown fields say so (``additionalProperties: false``); a Struct's
    ``__openapi_extra__`` adds schema keywords its field types cannot express."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        config = msgspec.inspect.type_info(field_definition.type_)
        if getattr(config, "forbid_unknown_fields", False):
            schema.additional_properties = False
        for key, value in getattr(field_definition.type_, "__openapi_extra__", {}).items():
            setattr(schema, key, value)  # what the field types cannot say (e.g. if/then)
        return schema


def options_handlers(handlers: Iterable[HTTPRouteHandler]) -> list[HTTPRouteHandler]:
    """OPTIONS handlers for paths served by several handlers.

    Litestar 2 answers OPTIONS with the methods of the first handler registered for a path only
    (litestar#4169, fixed in v3); these list them all. Register them before the others.
    """
    methods: dict[str, set[str]] = {}
    for handler in handlers:
        for path in handler.paths:
            methods.setdefault(path, set()).update(handler.http_methods)
    return [_allow(path, found) for path, found in methods.items() if len(found) > 1]


def _allow(path: str, methods: set[str]) -> HTTPRouteHandler:
    allow = ", ".join(sorted({*methods, "OPTIONS"}))

    def options() -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": allow})

    return route(path, http_method=["OPTIONS"], include_in_schema=False, sync_to_thread=False)(options)
