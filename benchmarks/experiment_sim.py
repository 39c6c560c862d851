"""A/B experiments measured end to end through the HTTP API, on synthetic users whose true
tastes are known.

The ground truth: users and items have latent factors (and items a popularity offset); a
user's affinity to an item is sigmoid(u.v + offset) in (0, 1). Training data is drawn from
it (each user's history sampled in proportion to affinity); a popularity and an als bundle
are trained on it and served by a real `python -m app`. A simulated user asks
GET /recommend/{user}, then clicks each of the k items with probability
`click_scale x affinity` and posts the clicks with the list's recommendation_id. After every
user, GET /experiments/{id} reports the arms.

    .venv/bin/python benchmarks/experiment_sim.py --users 5000 --aa-seeds 20

runs the A/B test (control popularity, treatment als) and 20 A/A tests (als against als) of
the same size, and prints the reports' figures (benchmarks/RESULTS.md); `--hot-path` times
what experiments add to one /recommend answer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADMIN_KEY = "sim-admin-key"
FLUSH_WAIT_SECONDS = 1.5  # workers add their impressions to the store every second


@dataclass(frozen=True)
class World:
    """The synthetic ground truth: affinity[user, item] in (0, 1)."""

    affinity: np.ndarray

    @classmethod
    def make(cls, n_users: int, n_items: int, rng: np.random.Generator, dim: int = 4) -> World:
        """Tastes (u.v has a standard deviation of 3) matter more than popularity (an
        offset's is 1), as in most catalogs."""
        users = rng.standard_normal((n_users, dim)) * np.sqrt(3.0 / np.sqrt(dim))
        items = rng.standard_normal((n_items, dim)) * np.sqrt(3.0 / np.sqrt(dim))
        offset = rng.normal(-2.0, 1.0, n_items)
        return cls(1.0 / (1.0 + np.exp(-(users @ items.T + offset))))

    def history(self, per_user: int, rng: np.random.Generator) -> pd.DataFrame:
        """Each user's `per_user` distinct items, drawn in proportion to affinity."""
        rows = []
        for user, weights in enumerate(self.affinity):
            chosen = rng.choice(len(weights), per_user, replace=False, p=weights / weights.sum())
            rows += [(str(user), str(item), 1.0, 1_000_000 + i) for i, item in enumerate(chosen)]
        return pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])


def build(folder: Path, world: World, rng: np.random.Generator) -> dict[str, str]:
    """Train popularity and als bundles on the world's histories, import the histories into
    a new SQLite store; the RECO_* environment of a server over both."""
    from app.store.session import create_store_engine, init_schema
    from training.importer import import_interactions
    from training.interactions import Interactions
    from training.models.base import create_model
    from training.pipeline import train_and_export

    frame = world.history(20, rng)
    frame["is_rating"] = False
    data = Interactions(frame, "experiment-sim")
    artifacts = folder / "artifacts"
    models = {
        "20260101T000000000000Z-popularity": lambda: create_model("popularity"),
        "20260101T000001000000Z-als": lambda: create_model(
            "als", factors=16, iterations=8, reg=1.0
        ),
    }
    for version, make in models.items():
        train_and_export(make, data, artifacts / version, holdout=False, report=False)
    url = f"sqlite:///{folder / 'store.db'}"
    engine = create_store_engine(url)
    init_schema(engine)
    import_interactions(engine, data, progress=False)
    engine.dispose()
    return {
        "RECO_DATABASE_URL": url,
        "RECO_ARTIFACTS_DIR": str(artifacts),
        "RECO_ADMIN_KEY": ADMIN_KEY,
    }


def run(
    client: httpx.Client,
    world: World,
    arms: list[tuple[str, str]],
    users: np.ndarray,
    rng: np.random.Generator,
    k: int = 10,
    click_scale: float = 0.1,
) -> dict:
    """One experiment over `users` (arms: (name, model), equal weights), stopped at the end
    with its control; its final report."""
    admin = {"X-API-Key": ADMIN_KEY}
    body = {"name": "sim", "arms": [{"name": n, "model": m, "weight": 1.0} for n, m in arms]}
    created = client.post("/admin/experiments", json=body, headers=admin)
    assert created.status_code == 201, created.text
    experiment = created.json()["id"]
    for user in users.tolist():
        answer = client.get(f"/recommend/{user}", params={"k": k}).json()
        shown = [int(item["item_id"]) for item in answer["items"]]
        clicked = [i for i in shown if rng.random() < click_scale * world.affinity[user, i]]
        if clicked:
            events = [
                {
                    "user_id": str(user),
                    "item_id": str(i),
                    "kind": "click",
                    "recommendation_id": answer["recommendation_id"],
                }
                for i in clicked
            ]
            stored = client.post("/interactions", json={"interactions": events})
            assert stored.status_code == 201, stored.text
    time.sleep(FLUSH_WAIT_SECONDS)
    stop = {"arm": arms[0][0]}
    stopped = client.post(f"/admin/experiments/{experiment}/stop", json=stop, headers=admin)
    assert stopped.status_code == 200, stopped.text
    return stopped.json()


def summary(report: dict) -> str:
    """One line of a report: each arm's users, impressions, ctr and interval; p and lift."""
    arms = " | ".join(
        f"{a['name']} ({a['model']}): users {a['users']}, impressions {a['impressions']}, "
        f"events {a['events']}, ctr {a['ctr']:.4f} [{a['ctr_ci95'][0]:.4f}, "
        f"{a['ctr_ci95'][1]:.4f}]"
        for a in report["arms"]
    )
    comparison = report["comparison"]
    return f"{arms} | p {comparison['p_value']:.3g}, lift {comparison['lift']:+.3f}"


def hot_path(calls: int = 200_000) -> None:
    """Microseconds a /recommend answer spends on experiments: routing the user to an arm,
    counting the list and splicing its id in front of the rendered body; and the id and
    splice alone, without an experiment."""
    import timeit

    import orjson
    from prometheus_client import CollectorRegistry, Counter

    from app.experiments.assignment import cumulative_bounds
    from app.experiments.routing import tags
    from app.experiments.runtime import Arm, ExperimentRuntime, Running

    registry = CollectorRegistry()
    counters = [Counter(n, n, ["experiment", "arm"], registry=registry) for n in ("i", "e")]
    runtime = ExperimentRuntime(None, None, None, (counters[0], counters[1]))  # type: ignore[arg-type]
    arms = tuple(Arm(1, p, n, None, counters[0].labels("1", n)) for p, n in enumerate("ab"))  # type: ignore[arg-type]
    items = [{"item_id": str(i), "score": 0.5, "title": "x" * 20} for i in range(10)]
    body = orjson.dumps({"user_id": "196", "items": items})
    users = [f"user-{i}" for i in range(calls)]
    position = iter(range(10 * calls))

    def answer() -> bytes:
        user = users[next(position) % calls]
        _, assignment = runtime.route(user, None, False)  # type: ignore[arg-type]
        runtime.served(user, assignment)
        return orjson.dumps(tags(assignment))[:-1] + b"," + body[1:]

    for running in (Running(1, arms, cumulative_bounds([1, 1])), None):
        runtime.running = running
        seconds = timeit.timeit(answer, number=calls)
        print(f"experiment {'on' if running else 'off'}: {seconds / calls * 1e6:.1f} us a request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--aa-seeds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hot-path", action="store_true", help="only time the per-request cost")
    args = parser.parse_args()
    if args.hot_path:
        hot_path()
        return
    from tests.serve import running_server

    rng = np.random.default_rng(args.seed)
    world = World.make(args.users, args.items, rng)
    users = np.arange(args.users)
    with tempfile.TemporaryDirectory() as folder:
        env = build(Path(folder), world, rng)
        with running_server(env) as server, httpx.Client(base_url=server.base) as client:
            start = time.perf_counter()
            report = run(
                client, world, [("control", "popularity"), ("treatment", "als")], users, rng
            )
            print(
                f"A/B, {args.users} users, {time.perf_counter() - start:.0f} s: {summary(report)}"
            )
            significant = 0
            for seed in range(args.aa_seeds):
                aa = run(
                    client, world, [("a", "als"), ("b", "als")], users, np.random.default_rng(seed)
                )
                significant += aa["comparison"]["p_value"] < 0.05
                print(f"A/A seed {seed}: {summary(aa)}")
            print(f"A/A: {significant} of {args.aa_seeds} seeds with p < 0.05")


if __name__ == "__main__":
    main()
