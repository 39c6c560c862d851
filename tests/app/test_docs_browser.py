"""/docs and /redoc in a real headless Chromium with no network but 127.0.0.1: the pages render
every operation from assets of this host alone, the Authorize button takes the admin key, and
"Try it out" answers from the running server. Screenshots go to the test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api_server import ADMIN_KEY, block_store_env
from tests.chromium import CHROMIUM, Page, chromium, is_blank
from tests.conftest import popularity_artifacts
from tests.serve import Server, running_server

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install -y chromium chromium-driver; CI does)",
)
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A uvicorn over a popularity bundle and the block fixture's store, admin key set."""
    root = tmp_path_factory.mktemp("docs")
    with running_server(block_store_env(root, popularity_artifacts(root))) as running:
        yield running


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with chromium(tmp_path) as tab:
        yield tab


def _operations(server: Server) -> list[tuple[str, str]]:
    spec = httpx.get(f"{server.base}/openapi.json").json()
    return [(m, p) for p, ops in spec["paths"].items() for m in ops if m in METHODS]


def _assert_offline(page: Page, server: Server, shot: Path) -> None:
    """The page asked no other host (but what its own Content-Security-Policy stopped before
    sending), every request was answered, and the screenshot shows something."""
    here = urlsplit(server.base).netloc
    elsewhere = [u for u in page.requests if urlsplit(u).netloc not in ("", here)]
    assert set(elsewhere) <= set(page.blocked), f"asked other hosts for {elsewhere}"
    assert page.failed == [] and page.errors == []
    assert not is_blank(page.screenshot(shot)), f"blank screenshot {shot}"


def _block(method: str, path: str) -> str:
    """The selector of Swagger UI's block for one operation."""
    return f'.opblock-{method}:has(.opblock-summary-path[data-path="{path}"])'


def _try_it_out(page: Page, block: str, params: dict[str, str]) -> str:
    """Expand an operation, fill its parameters, execute; the status code Swagger UI shows."""
    page.click(f"{block} .opblock-summary-control")
    page.wait_for(f"!!document.querySelector('{block} .try-out__btn')")
    page.click(f"{block} .try-out__btn")
    for name, value in params.items():
        page.type(f'{block} tr[data-param-name="{name}"] input', value)
    page.click(f"{block} .btn.execute")
    return page.wait_for(
        f"document.querySelector('{block} .live-responses-table tbody .response-col_status')"
        "?.textContent.trim()"
    )


def test_swagger_ui_renders_offline_authorizes_and_tries_it_out(server, page, tmp_path):
    operations = _operations(server)
    page.goto(f"{server.base}/docs")
    page.wait_for(f"document.querySelectorAll('.opblock').length === {len(operations)}")
    for method, path in operations:
        assert page.evaluate(f"!!document.querySelector('{_block(method, path)}')"), path

    page.click(".auth-wrapper .btn.authorize")
    page.type(".modal-ux .auth-container input", ADMIN_KEY)
    page.click(".modal-ux .auth-btn-wrapper .btn.authorize")
    page.wait_for("document.querySelector('.modal-ux .auth-container h6')?.textContent")
    assert page.evaluate("document.querySelector('.modal-ux h6').textContent") == "Authorized"
    page.click(".modal-ux .btn-done")

    recommend = _block("get", "/recommend/{user_id}")
    assert _try_it_out(page, recommend, {"user_id": "0"}) == "200"
    shown = page.evaluate(f"document.querySelector('{recommend} .live-responses-table').innerText")
    assert '"user_id": "0"' in shown and '"items"' in shown
    # 401 without the key, 403 with a wrong one: 200 means Authorize sent the admin key
    assert _try_it_out(page, _block("post", "/admin/reload"), {}) == "200"
    _assert_offline(page, server, tmp_path / "swagger-ui.png")


def test_redoc_renders_every_operation_offline(server, page, tmp_path):
    operations = _operations(server)
    page.goto(f"{server.base}/redoc")
    page.wait_for(
        'document.querySelectorAll(\'[data-section-id^="operation/"], '
        f'[data-section-id^="paths/"]\').length === {len(operations)}'
    )
    text = page.evaluate("document.body.innerText")
    assert "/recommend/{user_id}" in text and "/admin/reload" in text
    assert "X-API-Key" in text  # the admin routes' security scheme
    _assert_offline(page, server, tmp_path / "redoc.png")
