"""OpenAI-compatible endpoints (/v1/chat/completions, /v1/models) so stock clients and chat UIs work."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage

from qa.errors import InvalidQuestion
from qa.followup import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS, MAX_TURNS, Turn
from qa.http_api import CHAT_MAX_BODY, as_sent, error_message, require_json, resumed, service_of
from qa.http_schema import errors, event_stream, ok
from qa.records import NOT_BLANK, Answer, Citation, Mode, StreamEvent
from qa.service import GENERATORS
from qa.settings import ServerSettings, Settings

MODEL_ID = "newsqa"
CREATED = 1735689600  # fixed "created" stamp for the model list (2025-01-01)


class ContentPart(msgspec.Struct, frozen=True, kw_only=True):
    """One part of a multi-part message; only text parts are read."""

    type: str
    text: str | None = None


# A user message must carry text: a non-blank string of at most the question limit, or parts of which
# one is a non-blank text part. The chat body must contain at least one such message.
_TEXT_PART = {"type": "object", "required": ["type", "text"],
              "properties": {"type": {"const": "text"}, "text": {"type": "string", "pattern": NOT_BLANK}}}
USER_CONTENT = {"anyOf": [
    {"type": "string", "pattern": NOT_BLANK, "maxLength": ServerSettings().max_question_chars},
    {"type": "array", "contains": _TEXT_PART},
]}
_IS_USER = {"type": "object", "required": ["role"], "properties": {"role": {"const": "user"}}}


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True):
    """An incoming chat message; extra OpenAI fields (name, tool_calls, ...) are accepted."""

    __openapi_extra__: ClassVar[dict[str, Any]] = {
        "schema_if": _IS_USER, "then": {"required": ["content"], "properties": {"content": USER_CONTENT}},
    }

    role: str
    content: str | list[ContentPart] | None = None


Messages = Annotated[list[ChatMessage], msgspec.Meta(extra_json_schema={"extra": {"contains": _IS_USER}})]


class ChatCompletionRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The request body; sampling options (temperature, max_tokens, ...) are accepted and ignored."""

    messages: Messages
    model: str = MODEL_ID
    stream: bool = False


class AssistantMessage(msgspec.Struct, frozen=True, kw_only=True):
    """The reply: cited answer plus numbered source list, with the structured citations beside."""

    content: str
    citations: list[Citation]
    role: Literal["assistant"] = "assistant"


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Whitespace word counts: the service has no tokenizer for its extractive answers."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[Citation]
    object: Literal["chat.completion"] = "chat.completion"


class ChunkDelta(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(msgspec.Struct, frozen=True, kw_only=True):
    delta: ChunkDelta
    index: int = 0
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    object: Literal["chat.completion.chunk"]  # no default: omit_defaults must not drop it
    citations: list[Citation] | None = None


class Model(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: int = CREATED
    owned_by: str = "newsqa"
    object: Literal["model"] = "model"


class ModelList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[Model]
    object: Literal["list"] = "list"


def models_for(settings: Settings) -> dict[str, Mode | None]:
    """Model ids clients may ask for and the answer mode each selects (None: the default)."""
    models: dict[str, Mode | None] = {MODEL_ID: None}
    models.update({f"{MODEL_ID}-{mode}": mode for mode, entry in GENERATORS.items()
                   if entry.unavailable(settings) in (None, "llm_loading")})
    return models


def _text(message: ChatMessage) -> str:
    if isinstance(message.content, list):
        return "\n".join(p.text for p in message.content if p.type == "text" and p.text)
    return message.content or ""


def last_user_text(messages: list[ChatMessage], limit: int) -> str:
    """The question: the text of the last user message (every user message must have text)."""
    users = [m for m in messages if m.role == "user"]
    if not users:
        raise InvalidQuestion("The messages contain no user message to answer.")
    for n, message in enumerate(users, 1):
        if not _text(message).split():
            raise InvalidQuestion(f"User message {n} is empty: it has no text to answer.")
        if isinstance(message.content, str) and len(message.content) > limit:
            raise InvalidQuestion(
                f"User message {n} is {len(message.content)} characters long; the limit is {limit}."
            )
    return _text(users[-1])


def history_of(messages: list[ChatMessage]) -> list[Turn]:
    """Earlier user questions with the assistant replies that followed, the last few, clipped."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    turns: list[Turn] = []
    for i, message in enumerate(messages[:last]):
        if message.role != "user" or not " ".join((asked := _text(message)).split()):
            continue
        reply = next((m for m in messages[i + 1:last] if m.role in ("assistant", "user")), None)
        said = _text(reply).split("\n\nSources:", 1)[0] if reply and reply.role == "assistant" else None
        turns.append(Turn(question=asked[:MAX_QUESTION_CHARS],
                          answer=said[:MAX_ANSWER_CHARS] if said else None))
    return turns[-MAX_TURNS:]


def sources_text(citations: list[Citation]) -> str:
    """The numbered source list: '[n] Title (Source, date): "quote"' per citation."""
    lines = ["Sources:"]
    for c in sorted(citations, key=lambda c: c.marker):
        about = ", ".join(part for part in (c.source, c.published) if part)
        lines.append(f'[{c.marker}] {c.title}{f" ({about})" if about else ""}: "{c.quote}"')
    return "\n".join(lines)


def reply_text(answer: Answer) -> str:
    """The chat reply: the cited answer, then its sources."""
    if not answer.citations:
        return answer.answer
    return f"{answer.answer}\n\n{sources_text(answer.citations)}"


def _words(text: str) -> int:
    return len(text.split())


@get("/v1/models", responses=errors())
async def list_models(request: Request[Any, Any, Any]) -> ModelList:
    """The models this service answers as (OpenAI format)."""
    return ModelList(data=[Model(id=name) for name in models_for(request.app.state.settings)])


@post(
    "/v1/chat/completions",
    status_code=200,
    guards=[require_json],
    request_max_body_size=CHAT_MAX_BODY,
    responses={
        **ok(ChatCompletion, "OpenAI chat completion; with \"stream\": true, chunks ending in [DONE]."),
        **errors(400, 404, 413, 415, 502, 503),
    },
    operation_class=event_stream("message"),
)
async def chat_completions(
    data: JSONBody[ChatCompletionRequest], request: Request[Any, Any, Any]
) -> Response[ChatCompletion] | ServerSentEvent:
    """OpenAI-compatible chat: the last user message is the question, the earlier ones its context."""
    data = await as_sent(request, data)
    models = models_for(request.app.state.settings)
    if data.model not in models:
        raise NotFoundException(f"Unknown model {data.model!r}; available: {', '.join(models)}.")
    question = last_user_text(data.messages, request.app.state.settings.server.max_question_chars)
    history = history_of(data.messages)
    service = await service_of(request)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if data.stream:
        events = service.stream(question, mode=models[data.model], history=history)
        first = await anext(events)  # validation errors still get a plain 4xx
        header = ChatCompletionChunk(
            id=completion_id, object="chat.completion.chunk", created=int(time.time()),
            model=data.model, choices=[ChunkChoice(delta=ChunkDelta(role="assistant", content=""))],
        )
        return ServerSentEvent(_chunks(header, resumed(first, events)))
    answer = await service.ask(question, mode=models[data.model], history=history)
    content = reply_text(answer)
    prompt = sum(_words(m.content) for m in data.messages if isinstance(m.content, str))
    return Response(ChatCompletion(
        id=completion_id, created=int(time.time()), model=data.model,
        choices=[Choice(index=0, message=AssistantMessage(content=content,
                                                          citations=answer.citations),
                        finish_reason="stop")],
        usage=Usage(prompt_tokens=prompt, completion_tokens=_words(content),
                    total_tokens=prompt + _words(content)),
        citations=answer.citations,
    ))


async def _chunks(
    header: ChatCompletionChunk, events: AsyncIterator[StreamEvent]
) -> AsyncIterator[ServerSentEventMessage]:
    """Map service stream events onto OpenAI chunks: text deltas, the source list, then stop."""

    def chunk(delta: ChunkDelta, finish: str | None = None, **extra: Any) -> ServerSentEventMessage:
        body = msgspec.structs.replace(
            header, choices=[ChunkChoice(delta=delta, finish_reason=finish)], **extra
        )
        return ServerSentEventMessage(data=msgspec.json.encode(body).decode())

    def failure(message: str) -> ServerSentEventMessage:
        error = {"error": {"message": message, "type": "server_error"}}
        return ServerSentEventMessage(data=msgspec.json.encode(error).decode())

    yield chunk(header.choices[0].delta)
    try:
        async for event in events:
            if event.event == "delta":
                yield chunk(ChunkDelta(content=event.data["text"]))  # type: ignore[index]
            elif event.event == "done" and isinstance(answer := event.data, Answer):
                if answer.citations:
                    yield chunk(ChunkDelta(content=f"\n\n{sources_text(answer.citations)}"))
                yield chunk(ChunkDelta(), "stop", citations=answer.citations)
            elif event.event == "error":
                yield failure(event.data["message"])  # type: ignore[index]
    except Exception as exc:  # already streaming: report in-band, in OpenAI's error shape
        yield failure(error_message(exc))
    yield ServerSentEventMessage(data="[DONE]")


routes: list[HTTPRouteHandler] = [list_models, chat_completions]
