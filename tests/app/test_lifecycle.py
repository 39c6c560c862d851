"""Several bundles: listing, reload, activate, admin key, damaged bundles, swaps under load,
eviction of models no longer needed, rollback."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pandas as pd
import pytest

from app.config import Settings
from app.serving.state import ModelState
from tests.app.conftest import make_client
from tests.conftest import block_interactions
from tests.serve import REPO, free_port
from training.interactions import Interactions, empty_items
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
        assert swapped == {"active": newer.name, "previous": old, "changed": True, "revision": 1}
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


def _fake(version: str, name: str = "mf") -> SimpleNamespace:
    """What ModelState reads of a loaded model."""
    return SimpleNamespace(
        version=version, name=name, bundle=SimpleNamespace(created_at=f"2026-01-01T{version}")
    )


def test_state_keeps_active_previous_and_a_bounded_number_of_others():
    state = ModelState(settings=Settings(model_retention=1))
    for n in range(6):
        state.add(_fake(f"0{n}"), activate=True)
    assert list(state.loaded) == ["03", "04", "05"]  # one other, the previous, the active
    state.add(_fake("01"), activate=False)  # loaded for ?model=01, not activated
    assert set(state.loaded) == {"01", "04", "05"}
    state.add(_fake("02"), activate=False)  # one other at most: the older goes
    assert set(state.loaded) == {"02", "04", "05"}
    state.add(_fake("04"), activate=True)  # rollback: 05 becomes the rollback target
    assert (state.active_version, state.previous_version) == ("04", "05")
    assert set(state.loaded) == {"02", "04", "05"}


def test_model_name_after_rollback_answers_from_the_active_version():
    """Regression: ?model=<name> returned the newest loaded model of that name."""
    state = ModelState(settings=Settings())
    old, new = _fake("01"), _fake("02")
    state.add(old, activate=True)
    state.add(new, activate=True)
    assert state.get("mf") is new
    state.add(old, activate=True)
    assert state.get("mf") is old and state.get("02") is new


def test_a_swap_never_leaves_the_active_version_missing():
    """Regression: add() pointed active_version at the new model before the dict of loaded
    models held it, so a request arriving in between (readers take no lock) found no active
    model and was answered by the store fallback."""
    import threading

    state = ModelState(settings=Settings(model_retention=0))
    state.add(_fake("00000"), activate=True)
    missing, done = [], threading.Event()

    def read() -> None:
        while not done.is_set():
            if state.active is None:
                missing.append(state.active_version)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the window is short
    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 30000):
            state.add(_fake(f"{n:05d}"), activate=True)
    finally:
        done.set()
        reader.join()
        sys.setswitchinterval(interval)
    assert missing == []


def _tiny_implicit(n_users: int = 200, n_items: int = 1200) -> Interactions:
    """Random clicks, 25 per user: big enough that a kept EASE model shows in RSS."""
    rng = np.random.default_rng(5)
    rows = [
        (str(user), str(item), 1.0, 1000 + n)
        for user in range(n_users)
        for n, item in enumerate(rng.choice(n_items, 25, replace=False))
    ]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    return Interactions(frame, "tiny", empty_items())


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


@contextmanager
def _uvicorn(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    """The app under uvicorn on a free 127.0.0.1 port, as the serving image runs it."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
    process = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": str(REPO), **env}, cwd=REPO,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                assert process.poll() is None, "the server exited during start-up"
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.slow
def test_retrain_reload_cycles_keep_memory_bounded_and_rollback_answers(tmp_path):
    """20 retrain -> reload cycles on a real server: RSS grows less than 10 % after a
    warm-up (a leak keeps ~10 MB of EASE weights per cycle); after rolling back,
    ?model=ease answers from the rolled-back version."""
    data, artifacts = _tiny_implicit(), tmp_path / "artifacts"

    def retrain(n: int) -> str:
        version = f"20260101T0000000000{n:02d}Z-ease"
        train_and_export(
            lambda: create_model("ease", tune=False), data, artifacts / version,
            holdout=False, report=False,
        )  # fmt: skip
        return version

    first = retrain(0)
    env = {
        "RECO_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "RECO_ARTIFACTS_DIR": str(artifacts),
        "RECO_ADMIN_KEY": KEY["X-API-Key"],
        "RECO_MODEL_RETENTION": "1",
    }
    with _uvicorn(env) as (base, server), httpx.Client(base_url=base, timeout=60) as http:
        versions = [first]

        def cycle(n: int) -> None:
            versions.append(retrain(n))
            swapped = http.post("/admin/reload", headers=KEY).json()
            assert swapped["active"] == versions[-1]
            assert http.get("/recommend/7", params={"k": 10}).json()["version"] == versions[-1]

        for n in range(1, 5):  # warm-up: the retained set fills, allocator pools settle
            cycle(n)
        before = _rss_kib(server.pid)
        for n in range(5, 25):
            cycle(n)
        after = _rss_kib(server.pid)
        assert after < 1.1 * before, f"RSS {before} KiB -> {after} KiB over 20 cycles"
        rolled_back = versions[10]  # evicted long ago: loads again from disk
        activated = http.post(f"/admin/models/{rolled_back}/activate", headers=KEY).json()
        assert activated == {
            "active": rolled_back,
            "previous": versions[-1],
            "changed": True,
            "revision": 25,  # one per reload, then this
        }
        answer = http.get("/recommend/7", params={"model": "ease"}).json()
        assert answer["version"] == rolled_back
        assert http.get("/recommend/7").json()["version"] == rolled_back
