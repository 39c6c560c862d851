"""GET /dashboard: a page of plain HTML, CSS and JavaScript from this package that reads the
public API of this same origin; its Content-Security-Policy lets the browser ask no other host."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.errors import NotFound

router = APIRouter(include_in_schema=False)
FOLDER = Path(str(resources.files("app") / "dashboard"))
# the page's files and their media types; nothing else under /dashboard/ is served
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
# scripts, styles and API calls from this origin only; no inline code (the page has none), no
# frames, forms or plugins; data: for the empty favicon
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _file(name: str, media_type: str) -> FileResponse:
    return FileResponse(FOLDER / name, media_type=media_type, headers=HEADERS)


@router.get("/dashboard")
async def dashboard() -> FileResponse:
    """The page; its scripts call the API by URLs relative to it, so it works under a proxy
    prefix too."""
    return _file("index.html", "text/html; charset=utf-8")


@router.get("/dashboard/{name}")
async def dashboard_asset(name: str) -> FileResponse:
    """One of the page's own files (ASSETS), or 404."""
    if name not in ASSETS:
        raise NotFound(f"no dashboard file {name!r}")
    return _file(name, f"{ASSETS[name]}; charset=utf-8")
