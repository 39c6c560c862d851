"""GET /models/{version}/report: a bundle's per-epoch training figures as written by training
(history.json), for any bundle on disk; bundles without a history answer an empty one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import make_client
from tests.conftest import block_interactions, popularity_artifacts

ALS = "20260101T000000000000Z-als"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A popularity bundle (no epochs) and an als bundle with a validation history."""
    from training.models.base import create_model
    from training.pipeline import train_and_export

    root = popularity_artifacts(tmp_path_factory.mktemp("report"))
    train_and_export(
        lambda: create_model("als", validation_fraction=0.2, iterations=4),
        block_interactions(),
        root / ALS,
        holdout=False,
        report=False,
    )
    return root


@pytest.fixture
def client(artifacts: Path, tmp_path: Path) -> TestClient:
    with make_client(artifacts, tmp_path) as test_client:
        yield test_client


def test_model_report_is_the_bundles_history(client, artifacts):
    response = client.get(f"/models/{ALS}/report")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == ALS and body["model"] == "als" and body["kind"] == "dot"
    assert body["history"] == json.loads((artifacts / ALS / "history.json").read_text())
    assert len(body["history"]) == 4 and set(body["history"][0]) == {"val_ndcg@10"}
    assert body["selection"] is None


def test_model_report_of_a_one_step_model_has_no_epochs(client):
    body = client.get("/models/20260101T000000000000Z-popularity/report").json()
    assert body["model"] == "popularity" and body["history"] == []


@pytest.mark.parametrize("version", ["20990101T000000000000Z-none", "..", ".tmp-x"])
def test_model_report_of_no_bundle_is_a_404(client, version):
    response = client.get(f"/models/{version}/report")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def _copy(artifacts: Path, folder: Path) -> Path:
    """The als bundle copied to a new artifacts folder under `folder`; its path."""
    bundle = folder / "artifacts" / ALS
    shutil.copytree(artifacts / ALS, bundle)
    return bundle


def test_model_report_of_a_bundle_before_history_json_is_empty(artifacts, tmp_path):
    bundle = _copy(artifacts, tmp_path)
    (bundle / "history.json").unlink()
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["files"]["history.json"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with make_client(bundle.parent, tmp_path) as client:
        assert client.get("/ready").json()["version"] == ALS  # it still loads
        response = client.get(f"/models/{ALS}/report")
    assert response.status_code == 200 and response.json()["history"] == []


def test_model_report_names_a_damaged_history(artifacts, tmp_path):
    """A history.json that is no longer JSON is a 404 naming the file, never a 500."""
    bundle = _copy(artifacts, tmp_path)
    (bundle / "history.json").write_text("{not json")
    with make_client(bundle.parent, tmp_path) as client:
        response = client.get(f"/models/{ALS}/report")
    assert response.status_code == 404
    assert "history.json" in response.json()["error"]["message"]


def test_model_report_writes_a_non_finite_figure_as_null(tmp_path):
    """JSON has no NaN: an epoch whose loss diverged is recorded as null, not as invalid JSON."""
    from training.models.base import create_model
    from training.pipeline import train_and_export

    def diverged():
        model = create_model("popularity")
        model.history.epochs = [{"loss": 0.5}, {"loss": float("nan")}]
        return model

    bundle = tmp_path / "20260101T000000000000Z-popularity"
    train_and_export(diverged, block_interactions(), bundle, holdout=False, report=False)
    assert json.loads((bundle / "history.json").read_text()) == [{"loss": 0.5}, {"loss": None}]
