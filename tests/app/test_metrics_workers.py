"""/metrics with several worker processes: one scrape counts every worker's requests
(prometheus-client's multiprocess mode in a private directory that reco-serve makes and
removes); one worker keeps its metrics in memory."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import app.serve
from tests.app.conftest import make_client
from tests.conftest import popularity_artifacts
from tests.serve import running_server

ROUTE = "/recommend/{user_id}"
REQUESTS, CONNECTIONS, WORKERS = 1000, 20, 4


def _requests_of(metrics: dict, route: str) -> float:
    return sum(s["value"] for s in metrics["reco_requests_total"] if s["labels"]["route"] == route)


def _send(base: str, count: int, first_user: int) -> list[int]:
    """`count` requests over one connection (each connection is accepted by some worker)."""
    with httpx.Client(base_url=base) as client:
        return [client.get(f"/recommend/{(first_user + n) % 20}").status_code for n in range(count)]


def test_metrics_one_scrape_counts_every_worker(tmp_path):
    artifacts = popularity_artifacts(tmp_path)
    make_client(artifacts, tmp_path).close()  # creates and fills the store
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = {
        "RECO_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "RECO_ARTIFACTS_DIR": str(artifacts),
        "RECO_WORKERS": str(WORKERS),
        "TMPDIR": str(private_tmp),  # where reco-serve makes the metrics directory
    }
    with running_server(env) as server:
        per_connection = REQUESTS // CONNECTIONS
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            batches = pool.map(lambda c: _send(server.base, per_connection, c), range(CONNECTIONS))
            statuses = [status for batch in batches for status in batch]
        assert statuses == [200] * REQUESTS
        scrape = httpx.get(f"{server.base}/metrics", headers={"Accept": "application/json"})
        text = httpx.get(f"{server.base}/metrics").text
        made = [(path, any(path.iterdir())) for path in private_tmp.glob("reco-metrics-*")]
    assert _requests_of(scrape.json(), ROUTE) == REQUESTS
    count = f'reco_requests_total{{method="GET",route="{ROUTE}",status="200"}} {REQUESTS:.1f}'
    assert count in text
    ((directory, had_files),) = made  # one directory, holding the workers' files
    assert had_files and not directory.exists()  # removed when the server stopped


def _serve(monkeypatch: pytest.MonkeyPatch, workers: int) -> dict:
    """What the environment holds while uvicorn runs, with `workers` (uvicorn faked)."""
    seen: dict = {}

    def fake_run(*_: object, **kwargs: object) -> None:
        seen["dir"] = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        seen["workers"] = kwargs["workers"]
        seen["files"] = list(Path(seen["dir"]).iterdir()) if seen["dir"] else None

    monkeypatch.setattr("uvicorn.run", fake_run)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    args = argparse.Namespace(host=None, port=None, workers=workers)
    assert app.serve.run(args) == 0
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    return seen


def test_serve_makes_a_fresh_metrics_directory_only_for_several_workers(monkeypatch):
    """`--workers 3`: an empty private directory while uvicorn runs, gone after; one
    worker keeps its metrics in memory as before."""
    seen = _serve(monkeypatch, 3)
    assert seen["workers"] == 3 and seen["files"] == []
    assert not Path(seen["dir"]).exists()
    assert _serve(monkeypatch, 1)["dir"] is None


_ROLLOUT = """
import json, os, subprocess, sys
from pathlib import Path
from types import SimpleNamespace
from app.metrics import Metrics

directory = Path(sys.argv[1])
dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                      capture_output=True, text=True).stdout.strip()
(directory / f"gauge_liveall_{dead}.db").write_bytes(b"")  # a worker killed with SIGKILL
metrics = Metrics(directory)
metrics.watch(lambda: 1, lambda: 0)
for version, offline in (("v1", {"ndcg@10": 0.3, "old": 1.0}), ("v2", {"ndcg@10": 0.4})):
    bundle = SimpleNamespace(kind="dot", metrics=offline)
    metrics.set_model(SimpleNamespace(name="mf", version=version, bundle=bundle))
print(json.dumps({"json": metrics.as_json(), "files": os.listdir(directory), "dead": dead}))
"""


def test_metrics_several_workers_retire_the_previous_model(tmp_path):
    """In multiprocess mode (files cannot forget a label set) a replaced version reads 0, a
    retired offline metric is left out of the JSON, a dead worker's live gauges are gone."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _ROLLOUT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    out = json.loads(done.stdout.splitlines()[-1])
    models = {s["labels"]["version"]: s["value"] for s in out["json"]["reco_model_info"]}
    assert models == {"v1": 0.0, "v2": 1.0}
    offline = {s["labels"]["metric"]: s["value"] for s in out["json"]["reco_model_offline_metric"]}
    assert offline == {"ndcg@10": 0.4}
    assert out["json"]["reco_loaded_models"][0]["value"] == 1.0
    assert f"gauge_liveall_{out['dead']}.db" not in out["files"]
    assert len([f for f in out["files"] if f.startswith("gauge_liveall_")]) == 1
