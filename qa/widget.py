"""The embeddable chat widget: ``GET /widget.js`` (the <qa-chat> element), ``GET /`` (demo), the favicon."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_200_OK, HTTP_304_NOT_MODIFIED

JS_TYPE = "application/javascript; charset=utf-8"
HTML_TYPE = "text/html"  # Litestar adds "; charset=utf-8" to text/* itself
ICON_TYPE = "image/x-icon"
ICON_CACHE = "public, max-age=86400"
# Pages embed /widget.js under a fixed URL, so caches must revalidate it (cheaply, by ETag)
# rather than keep a stale copy for long after a deploy.
WIDGET_CACHE = "public, max-age=300, stale-while-revalidate=86400"
DEMO_CACHE = "no-cache"


@cache
def static_file(name: str) -> tuple[bytes, str]:
    """The bytes of ``qa/static/<name>`` and their strong ETag, read once per process."""
    body = (files("qa") / "static" / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _serve(request: Request, name: str, media_type: str, cache_control: str) -> Response[bytes]:
    body, etag = static_file(name)
    headers = {"Cache-Control": cache_control, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, status_code=HTTP_200_OK, media_type=media_type, headers=headers)


@get("/widget.js", include_in_schema=False, sync_to_thread=False)
def widget_js(request: Request) -> Response[bytes]:
    """The dependency-free <qa-chat> custom element."""
    return _serve(request, "widget.js", JS_TYPE, WIDGET_CACHE)


@get("/", include_in_schema=False, sync_to_thread=False)
def demo_page(request: Request) -> Response[bytes]:
    """A short article page with the widget embedded, to see the product in a browser."""
    return _serve(request, "demo.html", HTML_TYPE, DEMO_CACHE)


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon(request: Request) -> Response[bytes]:
    """The service's icon (browsers ask for it on every page, Swagger UI included)."""
    return _serve(request, "favicon.ico", ICON_TYPE, ICON_CACHE)


routes: list[HTTPRouteHandler] = [widget_js, demo_page, favicon]
