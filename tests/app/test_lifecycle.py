"""Several bundles: listing, reload, activate, admin key, damaged bundles, swaps under load."""

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.app.conftest import make_client
from tests.conftest import block_interactions
from training.models.base import create_model
from training.pipeline import train_and_export

KEY = {"X-API-Key": "s3cret"}


@pytest.fixture
def artifacts(mf_artifacts: Path, tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    shutil.copytree(mf_artifacts, root)
    return root


def _add_popularity(root: Path, version: str = "20270101T000000000000Z-popularity") -> Path:
    return train_and_export(
        lambda: create_model("popularity"), block_interactions(), root / version, report=False
    ).bundle


def test_admin_routes_need_the_key(artifacts, tmp_path):
    with make_client(artifacts, tmp_path, admin_key="s3cret") as client:
        assert client.post("/admin/reload").status_code == 401
        wrong = client.post("/admin/reload", headers={"X-API-Key": "nope"})
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "forbidden"
        assert client.post("/admin/reload", headers=KEY).status_code == 200


def test_admin_routes_disabled_without_a_key(artifacts, tmp_path):
    with make_client(artifacts, tmp_path) as client:
        response = client.post("/admin/reload", headers=KEY)
        assert (
            response.status_code == 403 and "RECO_ADMIN_KEY" in response.json()["error"]["message"]
        )


def test_reload_swaps_in_a_newer_bundle_and_activate_rolls_back(artifacts, tmp_path):
    with make_client(artifacts, tmp_path, admin_key="s3cret") as client:
        old = client.get("/models").json()["active"]
        newer = _add_popularity(artifacts)
        swapped = client.post("/admin/reload", headers=KEY).json()
        assert swapped == {"active": newer.name, "previous": old, "changed": True}
        assert client.get("/recommend/0").json()["model"] == "popularity"
        listing = client.get("/models").json()
        assert listing["active"] == newer.name and len(listing["models"]) == 2
        assert {m["model"] for m in listing["models"]} == {"mf", "popularity"}
        assert client.get("/recommend/0", params={"model": "mf"}).json()["model"] == "mf"
        back = client.post(f"/admin/models/{old}/activate", headers=KEY).json()
        assert back["active"] == old and client.get("/recommend/0").json()["model"] == "mf"
        assert client.post("/admin/models/nope/activate", headers=KEY).status_code == 404
        assert client.post("/admin/models/..%2F..%2Fetc/activate", headers=KEY).status_code == 404
        assert 'reco_model_reloads_total{outcome="swapped"} 2.0' in client.get("/metrics").text


def test_damaged_newer_bundle_is_refused_and_old_model_keeps_serving(artifacts, tmp_path):
    with make_client(artifacts, tmp_path, admin_key="s3cret") as client:
        old = client.get("/models").json()["active"]
        damaged = artifacts / "29990101T000000000000Z-mf"
        shutil.copytree(artifacts / old, damaged)
        manifest = json.loads((damaged / "manifest.json").read_text())
        manifest |= {"version": damaged.name, "created_at": "2999-01-01T00:00:00+00:00"}
        (damaged / "manifest.json").write_text(json.dumps(manifest))
        np.save(damaged / "item_factors.npy", np.load(damaged / "item_factors.npy") * 2)
        refused = client.post("/admin/reload", headers=KEY)
        assert refused.status_code == 409
        assert "item_factors.npy" in refused.json()["error"]["message"]
        assert client.get("/ready").json()["version"] == old
        assert client.get("/recommend/0").status_code == 200


def test_swap_under_load_fails_no_request(artifacts, tmp_path):
    with make_client(artifacts, tmp_path, admin_key="s3cret") as client:
        _add_popularity(artifacts)
        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                statuses.append(client.get("/recommend/0", params={"k": 5}).status_code)

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for worker in workers:
            worker.start()
        for n in range(6):
            version = client.get("/models").json()["models"][n % 2]["version"]
            assert client.post(f"/admin/models/{version}/activate", headers=KEY).status_code == 200
        stop.set()
        for worker in workers:
            worker.join()
        assert len(statuses) > 20 and set(statuses) == {200}
