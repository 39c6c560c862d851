"""import -> train -> export -> load -> every endpoint, through the real CLI and a real uvicorn."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serve import REPO, running_server


def _reco(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "training", *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    env = {
        "RECO_DATABASE_URL": f"sqlite:///{tmp / 'reco.db'}",
        "RECO_ARTIFACTS_DIR": str(tmp / "artifacts"),
    }
    small = ["--synthetic-users", "80", "--synthetic-items", "120", "--synthetic-ratings", "3000"]
    assert "3000 new" in _reco(env, "import", "synthetic", "--no-progress", *small)
    assert "0 new" in _reco(env, "import", "synthetic", "--no-progress", *small)  # idempotent
    out = _reco(env, "train", "--model", "mf", "--dataset", "store", "--epochs", "3")
    bundle = Path(out.split("bundle: ")[1].split()[0])
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["dataset"]["latest_interaction_id"] == 3000
    assert (bundle / "report.html").stat().st_size > 10_000
    with running_server(env) as server:
        base = server.base
        yield httpx.Client(base_url=base, timeout=10), manifest


def test_every_endpoint_answers(server):
    client, manifest = server
    ready = client.get("/ready").json()
    assert ready["version"] == manifest["version"] and ready["model"] == "mf"
    rec = client.get("/recommend/1", params={"k": 5}).json()
    assert rec["cold_start"] is False and len(rec["items"]) == 5
    assert all(item["title"] for item in rec["items"])
    seen = {
        i["item_id"]
        for i in client.get("/users/1/interactions", params={"limit": 1000}).json()["interactions"]
    }
    assert not seen & {i["item_id"] for i in rec["items"]}
    similar = client.get("/similar/1", params={"k": 3}).json()
    assert len(similar["items"]) == 3 and "1" not in {i["item_id"] for i in similar["items"]}
    scores = client.post("/score", json={"user_id": "1", "item_ids": ["3", "2"]}).json()
    assert [s["item_id"] for s in scores["scores"]] == ["3", "2"]
    # mf learns from ratings only (a click is not a one-star rating), in training and fold-in
    rating = {"user_id": "zz", "item_id": "1", "value": 5.0, "kind": "rating"}
    assert client.post("/interactions", json=rating).status_code == 201
    folded = client.get("/recommend/zz").json()  # one rating: personalised at once
    assert folded["cold_start"] is False and folded["strategy"] == "fold_in"
    assert client.get("/recommend/nobody").json()["cold_start"] is True
    assert client.get("/similar/unknown").status_code == 404
    assert client.get("/recommend/1", params={"k": 0}).status_code == 422
    assert "reco_requests_total" in client.get("/metrics").text
    assert client.get("/docs").status_code == 200
