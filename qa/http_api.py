"""The question and corpus endpoints: /v1/ask (JSON or SSE), /v1/search, /v1/documents."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any, TypeVar

import anyio
import msgspec
from litestar import Request, Response, delete, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from qa import metrics
from qa.errors import QAError, WritesDisabled
from qa.followup import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS, MAX_TURNS, Turn
from qa.http_schema import ADMIN_ONLY, errors, event_stream, ok
from qa.records import (
    NOT_BLANK,
    Answer,
    DocumentInfo,
    DocumentText,
    Mode,
    NewDocument,
    Passage,
    StreamEvent,
)
from qa.service import MAX_TOP_K, QAService
from qa.settings import ServerSettings

CHAT_MAX_BODY = 64 * 1024
# Every body the /v1/ask schema calls valid fits: each string at its longest, every character sent as
# a JSON-escaped surrogate pair (12 bytes), plus room for the keys (a longer body is 413).
ASK_MAX_BODY = 12 * (MAX_QUESTION_CHARS + MAX_TURNS * (MAX_QUESTION_CHARS + 2 * MAX_ANSWER_CHARS)) + 16 * 1024
DOCUMENT_MAX_BODY = 8 * 1024 * 1024
SSE_MEDIA_TYPE = "text/event-stream"
# What the service accepts as a question, for the schema (the service checks it and says what is wrong).
QUESTION_SCHEMA = {"min_length": 1, "max_length": ServerSettings().max_question_chars, "pattern": NOT_BLANK}
Question = Annotated[str, msgspec.Meta(extra_json_schema={"extra": QUESTION_SCHEMA})]

log = logging.getLogger("qa.http")
Body = TypeVar("Body", bound=msgspec.Struct)


class AskRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /v1/ask``."""

    question: Question
    top_k: Annotated[int, msgspec.Meta(ge=1, le=MAX_TOP_K)] | None = None
    mode: Mode | None = None
    stream: bool = False
    history: Annotated[list[Turn], msgspec.Meta(max_length=MAX_TURNS)] | None = None  # oldest first


async def service_of(connection: ASGIConnection[Any, Any, Any, Any]) -> QAService:
    """The app's QAService, opened now if the index was missing at startup (IndexProblem if still)."""
    state: State = connection.app.state
    if state.service is None:
        async with state.open_lock:
            if state.service is None:
                state.service = await anyio.to_thread.run_sync(QAService.open, state.settings)
                state.owns_service = True
    service: QAService = state.service
    return service


async def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the request body must be declared as JSON (415 otherwise).

    Guards are async so that Litestar runs them inline: a sync guard costs a thread hop per request.
    """
    declared = connection.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"Content-Type must be application/json, not {media_type or 'missing'!r}.",
        )


async def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: writes need ``Authorization: Bearer <QA_ADMIN_KEY>``; with no key set they are off."""
    key: str | None = connection.app.state.settings.server.admin_key
    if not key:
        raise WritesDisabled("Writes are disabled: no admin key is configured (set QA_ADMIN_KEY).")
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), key.encode()
    ):
        raise NotAuthorizedException(
            detail="A valid admin key is required: send 'Authorization: Bearer <QA_ADMIN_KEY>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def as_sent(request: Request[Any, Any, Any], data: Body) -> Body:
    """The body checked strictly: Litestar converts leniently ("stream": 0 -> false), the schema doesn't."""
    try:
        return msgspec.convert(_JSON.decode(await request.body()), type(data))
    except msgspec.ValidationError as exc:
        raise ValidationException(detail=str(exc)) from None


def _number(literal: str) -> float | int:
    value = float(literal)
    return int(value) if value.is_integer() else value  # in JSON Schema, 5.0 is an integer


_JSON = msgspec.json.Decoder(float_hook=_number)


def wants_stream(request: Request[Any, Any, Any], stream_flag: bool) -> bool:
    """True when the client asked for Server-Sent Events (body flag or Accept header)."""
    return stream_flag or SSE_MEDIA_TYPE in request.headers.get("accept", "")


def error_message(exc: Exception) -> str:
    """Log and count an error raised after a stream has started; return what the client is told."""
    if isinstance(exc, QAError):
        log.warning("stream stopped: %s", exc)
        metrics.ERRORS.labels(type(exc).__name__).inc()
        return str(exc)
    log.error("stream failed", exc_info=exc)
    metrics.ERRORS.labels("internal").inc()
    return "Internal error while answering."


async def resumed(
    first: StreamEvent, events: AsyncIterator[StreamEvent]
) -> AsyncIterator[StreamEvent]:
    """The service's stream again from its first event; the generator is closed on the way out."""
    async with aclosing(events):  # type: ignore[type-var]
        yield first
        async for event in events:
            yield event


async def _sse_messages(events: AsyncIterator[StreamEvent]) -> AsyncIterator[ServerSentEventMessage]:
    try:
        async for event in events:
            yield _sse(event.event, event.data)
    except Exception as exc:  # the status line is already sent: report in-band
        yield _sse("error", {"message": error_message(exc)})


def _sse(event: str, data: object) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=event, data=msgspec.json.encode(data).decode())


@post(
    "/v1/ask",
    status_code=200,
    guards=[require_json],
    request_max_body_size=ASK_MAX_BODY,
    responses={
        **ok(Answer, "The answer record; with 'Accept: text/event-stream' or \"stream\": true, "
             "Server-Sent Events: sources, delta*, citation*, then done (or error)."),
        **errors(400, 413, 415, 502, 503),
    },
    operation_class=event_stream("sources", "delta", "citation", "done", "error"),
)
async def ask(
    data: JSONBody[AskRequest], request: Request[Any, Any, Any]
) -> Response[Answer] | ServerSentEvent:
    """Answer a question with citations that quote the sources' exact words."""
    data = await as_sent(request, data)
    service = await service_of(request)
    if wants_stream(request, data.stream):
        events = service.stream(data.question, top_k=data.top_k, mode=data.mode,
                                history=data.history or ())
        # The first event comes before any byte is sent, so a bad question is still a plain 400.
        first = await anext(events)
        return ServerSentEvent(_sse_messages(resumed(first, events)))
    return Response(await service.ask(data.question, top_k=data.top_k, mode=data.mode,
                                      history=data.history or ()))


@get("/v1/search", responses=errors(400, 503))
async def search(
    request: Request[Any, Any, Any],
    q: Annotated[str, QueryParameter(description="what to search for", schema_extra=QUESTION_SCHEMA)],
    k: Annotated[int, QueryParameter(ge=1, le=MAX_TOP_K, description="passages to return")] = 5,
) -> list[Passage]:
    """Scored passages for a query (retrieval only, no answer)."""
    service = await service_of(request)
    return await anyio.to_thread.run_sync(service.search, q, k)


@get("/v1/documents", responses=errors(503))
async def list_documents(request: Request[Any, Any, Any]) -> list[DocumentInfo]:
    """Metadata of every indexed document."""
    service = await service_of(request)
    return await anyio.to_thread.run_sync(service.documents)


@get("/v1/documents/{doc_id:str}", responses=errors(404, 503))
async def get_document(request: Request[Any, Any, Any], doc_id: FromPath[str]) -> DocumentText:
    """One document: its metadata and original text."""
    service = await service_of(request)
    return await anyio.to_thread.run_sync(service.document, doc_id)


@post(
    "/v1/documents",
    status_code=200,
    guards=[require_admin, require_json],
    request_max_body_size=DOCUMENT_MAX_BODY,
    security=ADMIN_ONLY,
    responses=errors(400, 401, 403, 413, 415, 503),
)
async def put_document(data: JSONBody[NewDocument], request: Request[Any, Any, Any]) -> DocumentInfo:
    """Add a document, or replace the one with the same id (admin key required)."""
    data = await as_sent(request, data)
    service = await service_of(request)
    return await anyio.to_thread.run_sync(service.add_document, data)


@delete("/v1/documents/{doc_id:str}", guards=[require_admin], security=ADMIN_ONLY,
        responses=errors(401, 403, 404, 503))
async def delete_document(request: Request[Any, Any, Any], doc_id: FromPath[str]) -> None:
    """Remove a document from the corpus (admin key required)."""
    service = await service_of(request)
    await anyio.to_thread.run_sync(service.delete_document, doc_id)


routes: list[HTTPRouteHandler] = [
    ask, search, list_documents, get_document, put_document, delete_document,
]
