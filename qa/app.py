"""The HTTP service: ``create_app(settings, service)`` builds the Litestar app; ``serve`` runs it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import anyio
from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.middleware.rate_limit import DURATION_VALUES, DurationUnit, RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qa import errors, http_api, http_openai, metrics
from qa.http_schema import SECURITY_SCHEMES, ClosedStructSchemaPlugin, ErrorBody, options_handlers
from qa.service import QAService
from qa.settings import Settings
from qa.swagger import swagger_assets, swagger_plugin
from qa.widget import routes as widget_routes

log = logging.getLogger("qa.app")

# Most specific first: the first class an error is an instance of decides the response.
ERROR_STATUS: list[tuple[type[errors.QAError], int, str]] = [
    (errors.IndexProblem, 503, "index unavailable"),
    (errors.InvalidQuestion, 400, "invalid question"),
    (errors.DocumentTooLarge, 413, "document too large"),
    (errors.InvalidDocument, 400, "invalid document"),
    (errors.DocumentNotFound, 404, "document not found"),
    (errors.WritesDisabled, 403, "writes disabled"),
    (errors.BackendError, 502, "LLM backend error"),
]
# Probes, metrics and the widget's static files are never rate limited.
UNLIMITED_PATHS = r"^/(?:healthz|readyz|metrics|widget\.js|favicon\.ico)?$"


def _error(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(ErrorBody(error=error, detail=detail), status_code=status, headers=headers)


def qa_error(_: Request[Any, Any, Any], exc: errors.QAError) -> Response[ErrorBody]:
    """Domain errors -> their HTTP status with the error's own message."""
    metrics.ERRORS.labels(type(exc).__name__).inc()
    for kind, status, label in ERROR_STATUS:
        if isinstance(exc, kind):
            return _error(status, label, str(exc))
    log.error("unmapped domain error: %r", exc)
    return _error(500, "internal error", str(exc))


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorBody]:
    """Litestar's body/parameter validation -> 400 naming each field and problem."""
    metrics.ERRORS.labels("ValidationException").inc()
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        key, message = item.get("key"), str(item.get("message", ""))
        if key == "data" and message == "'data'":
            problems.append("the request body is missing: send a JSON object")
        else:
            problems.append(message if key in (None, "data") else f"{key}: {message}")
    return _error(400, "invalid request", "; ".join(problems) or str(exc.detail))


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    """Litestar's own HTTP errors (404, 405, 413, 415, 429, ...) in the same JSON shape."""
    metrics.ERRORS.labels(type(exc).__name__).inc()
    headers = dict(exc.headers or {})
    detail = str(exc.detail)
    if isinstance(exc.__cause__, SerializationException):
        detail = f"The request body is not valid JSON: {detail}"
    elif exc.status_code == 413:
        limit = request.route_handler.resolve_request_max_body_size()
        detail = f"The request body is larger than this endpoint's limit of {limit} bytes."
    elif exc.status_code == 429:
        headers["Retry-After"] = str(max(1, int(headers.get("RateLimit-Reset", "1"))))
        detail = "Too many requests from this client; retry after the number of seconds in Retry-After."
    return _error(exc.status_code, HTTPStatus(exc.status_code).phrase.lower(), detail, headers)


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """Anything unexpected: logged with its traceback, reported without internals."""
    if isinstance(exc, RecursionError) and "deserializing" in str(exc):  # msgspec on deep JSON
        metrics.ERRORS.labels("SerializationException").inc()
        return _error(400, "bad request", "The request body is not valid JSON: nested too deeply.")
    log.exception("unhandled error", exc_info=exc)
    metrics.ERRORS.labels("internal").inc()
    return _error(500, "internal error", "The server failed to handle this request.")


def record_metrics(app: ASGIApp) -> ASGIApp:
    """Middleware: count requests by route template and status, and time them."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_status)
        except Exception as exc:  # raised by a layer inside this one (the rate limiter's 429)
            status = getattr(exc, "status_code", 500)
            raise
        finally:
            route = scope.get("path_template") or "unmatched"
            metrics.REQUESTS.labels(route, str(status)).inc()
            metrics.LATENCY.labels(route).observe(time.perf_counter() - started)

    return middleware


def rate_limit_config(rate_limit: str) -> RateLimitConfig | None:
    """``"120/minute"`` -> a per-client RateLimitConfig; ``"off"`` -> None."""
    if rate_limit.strip().lower() in ("off", "none", "0", ""):
        return None
    count, _, unit = rate_limit.partition("/")
    unit = unit.strip().lower().removesuffix("s")
    if not count.strip().isdigit() or int(count) < 1 or unit not in DURATION_VALUES:
        raise ValueError(f"QA_RATE_LIMIT must look like '120/minute' or 'off', not {rate_limit!r}")
    duration: DurationUnit = unit  # type: ignore[assignment]
    return RateLimitConfig(rate_limit=(duration, int(count)), exclude=[UNLIMITED_PATHS])


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 once the index is loaded, else 503 with the reason."""
    try:
        service = await http_api.service_of(request)
    except errors.IndexProblem as exc:
        return Response({"status": "not ready", "detail": str(exc)}, status_code=503)
    return Response({"status": "ready", "documents": service.store.count()})


@get("/metrics", include_in_schema=False, media_type=MediaType.TEXT)
async def prometheus_metrics() -> Response[bytes]:
    """Prometheus text exposition of the service's registry."""
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


def warm_writer() -> None:
    """Load the ingest pipeline (spaCy) in the background once the service is up, so the first
    upload does not wait for it (1.6 s of `add until answerable` on a 100k-chunk store)."""
    from embeddings.chunking import load_nlp

    threading.Thread(target=load_nlp, name="warm-writer", daemon=True).start()


def create_app(settings: Settings | None = None, service: QAService | None = None) -> Litestar:
    """Build the app; the service is opened in the lifespan unless one is given."""
    settings = settings or (service.settings if service else Settings.from_env())
    limit = rate_limit_config(settings.server.rate_limit)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if app.state.service is None:
            try:
                app.state.service = await anyio.to_thread.run_sync(QAService.open, settings)
                app.state.owns_service = True
                warm_writer()
            except errors.IndexProblem as exc:  # stay up, not ready; retried on each request
                log.warning("index not loaded: %s", exc)
        try:
            yield
        finally:
            if app.state.owns_service and app.state.service is not None:
                await app.state.service.aclose()

    origins = list(settings.server.cors_origins)
    handlers = [
        healthz, readyz, prometheus_metrics, *http_api.routes, *http_openai.routes, *widget_routes,
    ]
    return Litestar(
        route_handlers=[*options_handlers(handlers), *handlers, swagger_assets()],
        plugins=[ClosedStructSchemaPlugin()],
        lifespan=[lifespan],
        state=State({"settings": settings, "service": service, "owns_service": False,
                     "open_lock": anyio.Lock()}),
        middleware=[record_metrics, *([limit.middleware] if limit else [])],
        cors_config=CORSConfig(
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            expose_headers=["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                            "Retry-After"],
            allow_credentials=False,  # the admin key travels in a header, never in cookies
        ) if origins else None,
        exception_handlers={
            errors.QAError: qa_error,
            ValidationException: validation_error,
            HTTPException: http_error,
            Exception: internal_error,
        },
        openapi_config=OpenAPIConfig(
            title="newsqa", version="0.1.0", path="/schema",
            description="Question answering over news articles; every claim quotes its source.",
            components=Components(security_schemes=SECURITY_SCHEMES),
            render_plugins=[swagger_plugin()],
        ),
    )


def serve(settings: Settings) -> None:
    """Run the service with uvicorn on the configured host and port."""
    import uvicorn

    from qa import llm_runtime

    backend = None
    if llm_runtime.wanted(settings.generator):  # LLM-assisted out of the box: run the bundled model
        backend = llm_runtime.BundledBackend(settings.generator.llm_bundled).start()
        llm_runtime.install(backend)
    try:
        uvicorn.run(
            create_app(settings), host=settings.server.host, port=settings.server.port,
            log_level="info", timeout_graceful_shutdown=10,
        )
    finally:
        if backend is not None:
            backend.stop()
            llm_runtime.install(None)
