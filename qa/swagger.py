"""Swagger UI served by this process (package swagger-ui-bundle-v2): /schema/swagger works offline."""

from __future__ import annotations

from litestar import Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS_PATH = "/static/swagger-ui"


def swagger_plugin() -> SwaggerRenderPlugin:
    """The Swagger UI page, loading its script and styles from ASSETS_PATH instead of a CDN."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' href='/favicon.ico'>",
    )


def swagger_assets() -> Router:
    """The bundled Swagger UI files under ASSETS_PATH."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[swagger_ui_path], include_in_schema=False,
        cache_control=None, name="swagger-assets",
    )
