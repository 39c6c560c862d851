"""The interactive API docs (/docs: Swagger UI, /redoc: ReDoc), served with their scripts and
styles from this host.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and fonts from Google, so on a host
without internet access they are blank. The assets come from the `fastapi-offline` package
(MIT; Swagger UI 5 and ReDoc 2 as published on npm, released with them), which is installed
with the service; its wheel is the only place they are read from.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
# the key typed into Authorize survives a page reload (kept in the browser's localStorage)
SWAGGER_UI_PARAMETERS = {"persistAuthorization": True}
# the browser fetches nothing from another host for these pages (ReDoc's sidebar asks a CDN
# for the Redocly logo whatever its options; this keeps it from trying). Inline scripts and
# styles: FastAPI's page templates and both UIs use them; blob: workers: ReDoc's search.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def assets_dir() -> Path:
    """The folder of the packaged Swagger UI and ReDoc files; fails naming a missing one."""
    folder = Path(str(resources.files("fastapi_offline") / "static"))
    missing = [name for name in ASSET_FILES if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"docs assets missing from {folder}: {', '.join(missing)}")
    return folder


def _same_host_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def install_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve the docs pages at `docs_url` and `redoc_url` (create the app with
    `docs_url=None, redoc_url=None` so FastAPI's CDN pages are not added too)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")

    def _urls(request: Request) -> tuple[str, str]:
        """The spec's and the assets' URLs, under the root path a proxy may mount us at."""
        root = request.scope.get("root_path", "")
        return f"{root}{app.openapi_url}", f"{root}{ASSETS_URL}"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        spec, assets = _urls(request)
        page = get_swagger_ui_html(
            openapi_url=spec,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        return _same_host_only(page)

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        spec, assets = _urls(request)
        page = get_redoc_html(
            openapi_url=spec,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
        return _same_host_only(page)
