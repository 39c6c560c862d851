"""The experiment simulation of benchmarks/experiment_sim.py, smaller and in-process (the
benchmark runs 5,000 users and 20 A/A seeds against a real server): synthetic users who click
in proportion to their true affinity show als beating popularity with p < 0.01 through the
HTTP API, and A/A runs of one model against itself rarely show a difference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from benchmarks.experiment_sim import ADMIN_KEY, World, build, run

USERS, AA_USERS, AA_SEEDS = 2000, 250, 3


def test_simulated_users_show_the_better_model_and_aa_runs_show_none(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    world = World.make(USERS, 300, rng)
    env = build(tmp_path, world, rng)
    settings = Settings(
        database_url=env["RECO_DATABASE_URL"],
        artifacts_dir=env["RECO_ARTIFACTS_DIR"],
        admin_key=ADMIN_KEY,
    )
    users = np.arange(USERS)
    with TestClient(create_app(settings)) as client:
        ab = run(client, world, [("control", "popularity"), ("treatment", "als")], users, rng)
        control, treatment = ab["arms"]
        assert control["users"] + treatment["users"] == USERS
        assert control["impressions"] + treatment["impressions"] == USERS
        assert treatment["ctr"] > control["ctr"] and ab["comparison"]["lift"] > 0
        assert ab["comparison"]["p_value"] < 0.01, ab["arms"]
        aa = [
            run(
                client,
                world,
                [("a", "als"), ("b", "als")],
                users[:AA_USERS],
                np.random.default_rng(s),
            )
            for s in range(AA_SEEDS)
        ]
    significant = [report["comparison"]["p_value"] < 0.05 for report in aa]
    assert sum(significant) <= 1, [report["comparison"] for report in aa]
