"""/docs and /redoc reference only this host: every script, style and icon they name is served
by the app itself, and their Content-Security-Policy keeps the browser from asking elsewhere.
(tests/app/test_docs_browser.py renders them in a real Chromium.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.docs import CONTENT_SECURITY_POLICY
from app.main import create_app

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The app without its lifespan: the docs pages need neither store nor bundle."""
    root = tmp_path_factory.mktemp("docs")
    settings = Settings(database_url=f"sqlite:///{root / 'store.db'}", artifacts_dir=root)
    return TestClient(create_app(settings))


def _references(html: str) -> list[str]:
    """Every src=, href= and *_url: value in a page (FastAPI's templates use all three)."""
    return re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_references_only_this_host(client, page):
    response = client.get(page)
    assert response.status_code == 200
    urls = [src or url for src, url in _references(response.text)]
    assert urls, "no asset referenced"
    assert [u for u in urls if not u.startswith("/")] == [], "an asset from another host"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "fonts.googleapis.com" not in response.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = CONTENT_TYPES.get(Path(url).suffix, "json")
        assert expected in asset.headers["content-type"], url


def test_docs_csp_allows_nothing_from_elsewhere():
    """Each directive names only this origin, inline code, data: or blob: URLs."""
    sources = {
        source
        for directive in CONTENT_SECURITY_POLICY.split(";")
        for source in directive.split()[1:]
    }
    assert sources <= {"'self'", "'unsafe-inline'", "data:", "blob:"}
