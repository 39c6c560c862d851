"""/dashboard in a real headless Chromium with no network but 127.0.0.1, over a uvicorn serving
an `auto` bundle and over one with no bundle (the store's popularity fallback): the page loads
with no error, asks no other host, shows the same items as GET /recommend, draws the training
curves, the live traffic and the experiments. Screenshots go to the test's tmp_path."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api_server import ADMIN_KEY, block_store_env
from tests.chromium import CHROMIUM, Page, chromium, is_blank
from tests.conftest import block_interactions
from tests.serve import Server, running_server

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install -y chromium; CI does)",
)
VERSION = "20260101T000000000000Z-auto"
CANDIDATES = ("als", "ease", "popularity")
RULES = ("boost", "max_per_category", "dither")
RECOMMENDED = "[...document.querySelectorAll('#recommendations li')].map(e => e.dataset.itemId)"


def _auto_artifacts(folder: Path) -> Path:
    """An artifacts folder with one `auto` bundle chosen among numpy models (fast): it has a
    per-epoch history (the chosen ease's l2 search) and the candidates it was chosen among."""
    from training.models.base import create_model
    from training.pipeline import train_and_export

    artifacts = folder / "artifacts"
    train_and_export(
        lambda: create_model("auto", candidates=CANDIDATES),
        block_interactions(),
        artifacts / VERSION,
        report=False,
    )
    return artifacts


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("dashboard")
    with running_server(block_store_env(root, _auto_artifacts(root))) as running:
        yield running


@pytest.fixture(scope="module")
def fallback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with an empty artifacts folder: the store's popularity answers."""
    root = tmp_path_factory.mktemp("dashboard-fallback")
    with running_server(block_store_env(root, root / "no-artifacts")) as running:
        yield running


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with chromium(tmp_path) as tab:
        yield tab


def _show_user(page: Page, user: str, category: str = "") -> list[str]:
    """Ask "try a user" for `user` (and `category`); the item ids it lists, in order."""
    page.type("#user-id", user)
    page.type("#category", category)
    page.click("#user-form button[type=submit]")
    page.wait_for(f"document.querySelector('#recommendations').dataset.user === {user!r}")
    return page.evaluate(RECOMMENDED)


def _recommended(server: Server, user: str, **params: str) -> list[str]:
    answer = httpx.get(f"{server.base}/recommend/{user}", params={"k": 10, **params})
    assert answer.status_code == 200, answer.text
    return [item["item_id"] for item in answer.json()["items"]]


def _assert_clean(page: Page, server: Server, shot: Path) -> None:
    """Every request went to this server and was answered, nothing was logged as an error,
    and the screenshot shows something."""
    here = urlsplit(server.base).netloc
    assert [u for u in page.requests if urlsplit(u).netloc != here] == []
    assert page.blocked == [] and page.failed == []
    assert page.errors == [] and page.console == []
    assert not is_blank(page.screenshot(shot)), f"blank screenshot {shot}"


def test_dashboard_shows_the_model_a_user_and_live_traffic(bundled, page, tmp_path):
    page.goto(f"{bundled.base}/dashboard")
    page.wait_for("document.querySelectorAll('#model-body svg.chart polyline').length > 0")
    card = page.evaluate("document.querySelector('#model-body').innerText")
    assert VERSION in card and "ndcg@10" in card and "candidates" in card
    assert "val_ndcg@10" in card  # a curve's legend
    chosen = httpx.get(f"{bundled.base}/models/{VERSION}/report").json()["selection"]["chosen"]
    assert f"{chosen} (chosen)" in card and all(name in card for name in CANDIDATES)

    assert _show_user(page, "0") == _recommended(bundled, "0")
    assert page.evaluate("document.querySelectorAll('#history li').length") == 9
    assert "because:" in page.evaluate("document.querySelector('#recommendations').innerText")
    assert _show_user(page, "0", "B") == _recommended(bundled, "0", category="B")
    assert _show_user(page, "3", "") == _recommended(bundled, "3")

    page.wait_for("document.querySelectorAll('#live-body .spark polyline').length === 3", 20)
    experiments = page.evaluate("document.querySelector('#experiments-body').innerText")
    assert experiments.startswith("No experiments") or "arm" in experiments
    _assert_clean(page, bundled, tmp_path / "dashboard.png")


def test_dashboard_rule_toggles_pass_their_parameters(bundled, page):
    """Each rule the API offers (boost, max_per_category, dither), toggled on, gives the list
    GET /recommend gives with the parameters its fields hold (boost: of category B)."""
    spec = httpx.get(f"{bundled.base}/openapi.json").json()
    names = {p["name"] for p in spec["paths"]["/recommend/{user_id}"]["get"]["parameters"]}
    page.goto(f"{bundled.base}/dashboard")
    offered = [r for r in RULES if any(n == r or n.startswith(f"{r}_") for n in names)]
    if not offered:
        page.wait_for("document.querySelector('#rules').innerText.includes('not offered')")
        pytest.skip("this server offers no rule parameters yet")
    page.wait_for("document.querySelectorAll('#rules input[data-rule]').length > 0")
    plain = _recommended(bundled, "0")
    if "boost_category" in names:
        page.type('#rules input[data-param="boost_category"]', "B")
    for rule in offered:
        toggle = f'#rules input[data-rule="{rule}"]'
        page.click(toggle)
        params = page.evaluate(
            f"Object.fromEntries([...document.querySelector('{toggle}').parentElement"
            ".querySelectorAll('input[data-param]')].filter(e => e.value).map(e => "
            "[e.dataset.param, e.value]))"
        )
        assert params, rule
        shown = _show_user(page, "0")
        assert shown == _recommended(bundled, "0", **params), (rule, params)
        assert shown != plain, f"{rule} changed nothing: the test would not see it dropped"
        page.click(toggle)
    assert page.errors == [] and page.console == []


def _experiment_with_traffic(server: Server) -> dict:
    """An A/A experiment on the auto bundle, ten users answered, three of them clicking an item
    of their list; its report once the store counts every impression."""
    arms = [
        {"name": "control", "model": "auto", "weight": 1},
        {"name": "twin", "model": "auto", "weight": 1},
    ]
    created = httpx.post(
        f"{server.base}/admin/experiments",
        json={"name": "dashboard a/a", "arms": arms},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert created.status_code == 201, created.text
    for user in map(str, range(10)):
        answer = httpx.get(f"{server.base}/recommend/{user}").json()
        if int(user) % 3 == 0:
            click = {"user_id": user, "item_id": answer["items"][0]["item_id"], "kind": "click",
                     "recommendation_id": answer["recommendation_id"]}  # fmt: skip
            assert httpx.post(f"{server.base}/interactions", json=click).status_code == 201
    report_url = f"{server.base}/experiments/{created.json()['id']}"
    deadline = time.monotonic() + 10
    while (
        sum((report := httpx.get(report_url).json())["arms"][i]["impressions"] for i in (0, 1)) < 10
    ):
        assert time.monotonic() < deadline, report
        time.sleep(0.2)
    return report


def test_dashboard_shows_the_experiments_per_arm(bundled, page, tmp_path):
    """Last in this module: it leaves an experiment running on the shared server."""
    report = _experiment_with_traffic(bundled)
    page.goto(f"{bundled.base}/dashboard")
    block = f".experiment[data-id='{report['id']}']"
    page.wait_for(f'!!document.querySelector("{block}")')
    rows = page.evaluate(
        f'[...document.querySelectorAll("{block} tr")].slice(1)'
        ".map(r => [...r.cells].map(c => c.innerText))"
    )
    expected = [
        [a["name"], a["version"], str(a["users"]), str(a["impressions"]), str(a["events"])]
        for a in report["arms"]
    ]
    assert [row[:5] for row in rows] == expected
    assert sum(a["events"] for a in report["arms"]) == 4
    assert "twin against control" in page.evaluate(f'document.querySelector("{block}").innerText')
    assert _show_user(page, "0") == _recommended(bundled, "0")
    assert "experiment arm" in page.evaluate("document.querySelector('#answer').innerText")
    _assert_clean(page, bundled, tmp_path / "dashboard-experiment.png")


def test_dashboard_without_a_bundle_shows_the_popularity_fallback(fallback, page, tmp_path):
    page.goto(f"{fallback.base}/dashboard#user=0")
    page.wait_for("document.querySelector('#recommendations').dataset.user === '0'")
    assert page.evaluate(RECOMMENDED) == _recommended(fallback, "0")
    assert "popularity" in page.evaluate("document.querySelector('#answer').innerText")
    page.wait_for("document.querySelector('#model-body').innerText.includes('No model bundle')")
    page.wait_for("document.querySelectorAll('#live-body .metric').length === 3", 20)
    _assert_clean(page, fallback, tmp_path / "dashboard-fallback.png")
