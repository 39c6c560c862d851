"""The fleet's model pointer in the store: activate, reload and rollback on one worker reach
every worker; a pointed-to bundle that does not load here is reported on /ready while the
worker keeps serving; the pointer outlives a restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from app.store.lifecycle import point_to
from app.store.session import create_store_engine, make_sessionmaker
from tests.app.conftest import make_client
from tests.conftest import block_interactions
from tests.serve import running_server
from training.models.base import create_model
from training.pipeline import train_and_export

KEY = {"X-API-Key": "s3cret"}
OLD, NEW = "20260101T000000000000Z-popularity", "20260102T000000000000Z-popularity"
WORKERS, ANSWERS = 4, 200
FOLLOW_SECONDS = 2.0  # what the issue allows; the poll is every 0.5 s


def _two_bundles(folder: Path) -> Path:
    """Two popularity bundles (numpy only, fast): `NEW` is the newest, served at start-up."""
    artifacts = folder / "artifacts"
    for version in (OLD, NEW):
        train_and_export(
            lambda: create_model("popularity"),
            block_interactions(),
            artifacts / version,
            holdout=False,
            report=False,
        )
    return artifacts


def _versions_answering(base: str, count: int) -> set[str | None]:
    """The X-Model-Version of `count` /recommend answers, each on a new connection, so the
    worker processes take them in turn."""
    return {
        httpx.get(f"{base}/recommend/{n % 20}").headers.get("X-Model-Version") for n in range(count)
    }


def _after(base: str, path: str) -> dict:
    answer = httpx.post(f"{base}{path}", headers=KEY)
    assert answer.status_code == 200, answer.text
    time.sleep(FOLLOW_SECONDS)
    return answer.json()


def test_activate_and_rollback_reach_every_worker(tmp_path):
    artifacts = _two_bundles(tmp_path)
    make_client(artifacts, tmp_path).close()  # creates and fills the store
    env = {
        "RECO_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "RECO_ARTIFACTS_DIR": str(artifacts),
        "RECO_WORKERS": str(WORKERS),
        "RECO_ADMIN_KEY": "s3cret",
    }
    with running_server(env) as server:
        assert _versions_answering(server.base, 40) == {NEW}
        activated = _after(server.base, f"/admin/models/{OLD}/activate")
        assert activated["active"] == OLD and activated["previous"] == NEW
        assert _versions_answering(server.base, ANSWERS) == {OLD}
        readies = [httpx.get(f"{server.base}/ready").json() for _ in range(20)]
        assert {r["version"] for r in readies} == {OLD}
        assert all(r["rollout"]["following"] and r["rollout"]["wanted"] == OLD for r in readies)

        rolled_back = _after(server.base, "/admin/rollback")
        assert rolled_back["active"] == NEW and rolled_back["previous"] == OLD
        assert rolled_back["revision"] == activated["revision"] + 1
        assert _versions_answering(server.base, ANSWERS) == {NEW}


def test_a_restarted_worker_serves_the_pointer_not_the_newest(tmp_path):
    artifacts = _two_bundles(tmp_path)
    with make_client(artifacts, tmp_path, admin_key="s3cret") as client:
        assert client.get("/ready").json()["rollout"] == {
            "revision": 0,
            "wanted": None,
            "following": True,
            "problem": None,
        }
        assert client.post(f"/admin/models/{OLD}/activate", headers=KEY).status_code == 200
    with make_client(artifacts, tmp_path) as client:  # same store: a replica starting up
        answer = client.get("/recommend/1")
        assert answer.headers["X-Model-Version"] == OLD
        assert client.get("/ready").json()["rollout"]["wanted"] == OLD


def test_a_pointer_this_worker_cannot_load_is_reported_and_it_keeps_serving(tmp_path):
    artifacts = _two_bundles(tmp_path)
    damaged = next((artifacts / OLD).glob("*.npy"))
    damaged.write_bytes(b"damaged")  # as on one replica's disk, where the others' is fine
    with make_client(artifacts, tmp_path) as client:
        sessions = make_sessionmaker(create_store_engine(f"sqlite:///{tmp_path / 'store.db'}"))
        with sessions() as session:
            point_to(session, OLD, "popularity", "activate", serving=NEW)
        client.app.state.lifecycle.sync()  # what the poll does
        ready = client.get("/ready").json()
        assert ready["version"] == NEW
        assert ready["rollout"]["wanted"] == OLD and not ready["rollout"]["following"]
        assert OLD in ready["rollout"]["problem"]
        assert client.get("/recommend/1").headers["X-Model-Version"] == NEW


def test_rollback_with_nothing_before_is_refused(tmp_path):
    artifacts = _two_bundles(tmp_path)
    with make_client(artifacts, tmp_path, admin_key="s3cret") as client:
        refused = client.post("/admin/rollback", headers=KEY)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "bundle_invalid"
