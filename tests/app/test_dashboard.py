"""/dashboard and its files: served from the package with a strict Content-Security-Policy and
the right content types, referencing only this host, with no inline code the policy would
block; the files are package data, so an installed wheel (the Docker serve image) has them.
(tests/app/test_dashboard_browser.py runs the page in a real Chromium.)"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.routes.dashboard import ASSETS, CONTENT_SECURITY_POLICY, FOLDER

REPO = Path(__file__).resolve().parents[2]
CONTENT_TYPES = {
    "/dashboard": "text/html; charset=utf-8",
    "/dashboard/dashboard.js": "text/javascript; charset=utf-8",
    "/dashboard/dashboard.css": "text/css; charset=utf-8",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The app without its lifespan: the page's files need neither store nor bundle."""
    root = tmp_path_factory.mktemp("dashboard")
    settings = Settings(database_url=f"sqlite:///{root / 'store.db'}", artifacts_dir=root)
    return TestClient(create_app(settings))


@pytest.mark.parametrize(("url", "content_type"), CONTENT_TYPES.items())
def test_dashboard_file_is_served_with_its_type_and_the_policy(client, url, content_type):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"


def test_dashboard_page_references_its_own_files_only(client):
    html = client.get("/dashboard").text
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    files = {f"/{r}" for r in references if r.startswith("dashboard/")}
    assert files == {f"/dashboard/{name}" for name in ASSETS}
    # the rest: the API docs of this host and the empty favicon
    assert sorted(set(references) - {f.lstrip("/") for f in files}) == ["data:,", "docs"]


def test_dashboard_has_no_inline_code_and_names_no_other_host():
    """The policy allows no inline script or style, so the page must have none; the only
    absolute URL in its files is the SVG namespace, which is never fetched."""
    html = (FOLDER / "index.html").read_text()
    assert "<style" not in html and " style=" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert re.findall(r"\son\w+=", html) == []  # no inline event handlers
    for name in ("index.html", *ASSETS):
        urls = set(re.findall(r"[a-z]+://[^\s\"'`)]+", (FOLDER / name).read_text()))
        assert urls <= {"http://www.w3.org/2000/svg"}, name


def test_dashboard_policy_allows_this_origin_only():
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    sources = {s for value in directives.values() for s in value.split()}
    assert sources <= {"'self'", "'none'", "data:"}
    assert {"script-src", "style-src", "connect-src"} <= set(directives)


def test_dashboard_unknown_file_is_a_json_404(client):
    response = client.get("/dashboard/main.py")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_dashboard_files_are_package_data():
    """Every file of the folder matches pyproject's package-data, so `pip install .` (the
    Docker serve stage) carries the page."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["app"]
    files = [p.relative_to(REPO / "app").as_posix() for p in FOLDER.iterdir()]
    assert sorted(files) == sorted(f"dashboard/{name}" for name in ("index.html", *ASSETS))
    assert [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)] == []
