"""Training on several workers: each worker samples from its own shard of the training rows,
and `reco train --workers 2` runs two real TensorFlow workers on 127.0.0.1 whose chief alone
exports a bundle the server loads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.serving.bundle import load_bundle
from tests.training.epoch_arrays import whole
from training.cli import main
from training.datasets.synthetic import make_synthetic
from training.distributed import Shard, without_workers_option
from training.models._implicit import positives
from training.models.base import create_model
from training.vocab import EncodedInteractions, pair_codes

TINY = ["--synthetic-users", "40", "--synthetic-items", "60", "--synthetic-ratings", "900"]


def _examples(model, data: EncodedInteractions, shard: Shard) -> tuple[set[int], set[int]]:
    """One epoch of `shard`'s examples as (positive pair codes, negative pair codes)."""
    epoch = whole(model.epoch_sampler(data, np.random.default_rng(shard.index), shard)())
    rows = epoch[0]
    if model.sampling == "pairwise":
        positive, negative = rows[:, :2], rows[:, ::2]
    else:
        positive, negative = rows[epoch[1] == 1], rows[epoch[1] == 0]
    return tuple(set(pair_codes(r[:, 0], r[:, 1], data.n_items).tolist())
                 for r in (positive, negative))  # fmt: skip


@pytest.mark.parametrize("name", ["neumf", "two-tower"])
def test_shards_are_disjoint_and_cover_the_training_rows(name: str) -> None:
    data = positives(EncodedInteractions.encode(make_synthetic(50, 200, 1500, seed=3)), None)
    model = create_model(name)
    every_pair = set(pair_codes(data.users, data.items, data.n_items).tolist())
    shards = [_examples(model, data, Shard(3, index)) for index in range(3)]
    seen = [positive for positive, _ in shards]
    assert all(not seen[a] & seen[b] for a in range(3) for b in range(a + 1, 3))
    assert set().union(*seen) == every_pair
    # a shard's negatives avoid every positive of the user, not only its own shard's
    assert all(not negative & every_pair for _, negative in shards)


def test_shard_rows_split_like_tf_data_shard() -> None:
    assert [Shard(2, i).rows(5).tolist() for i in range(2)] == [[0, 2, 4], [1, 3]]


def test_workers_option_is_dropped_for_the_started_workers() -> None:
    argv = ["train", "--workers", "2", "--model", "gmf", "--workers=3", "--epochs", "2"]
    assert without_workers_option(argv) == ["train", "--model", "gmf", "--epochs", "2"]


def test_several_workers_are_refused_for_a_model_that_is_not_sampled(capsys) -> None:
    assert main(["train", "--model", "als", "--workers", "2", *TINY]) == 2
    assert "sampled neural models" in capsys.readouterr().err


def test_two_local_workers_train_one_bundle_the_server_loads(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    env = {**os.environ, "RECO_ARTIFACTS_DIR": str(artifacts), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "training", "train", "--model", "neumf", "--workers", "2",
               "--epochs", "2", "--no-report", "--no-holdout", *TINY]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "worker 1 of 2 joined" in done.stderr and "worker 0 of 2 joined" in done.stderr
    # the two workers log the same figures every epoch: one model, in step
    epochs = Counter(re.findall(r"epoch=\d+ loss=\S+ val_ndcg@10=\S+", done.stderr))
    assert epochs and set(epochs.values()) == {2}
    bundles = [path for path in artifacts.iterdir() if path.is_dir()]
    assert len(bundles) == 1 and done.stdout.count("bundle: ") == 1
    assert load_bundle(bundles[0], check_name=False).model_name == "neumf"
    history = json.loads((bundles[0] / "history.json").read_text())
    assert history, "the chief records the training figures it agreed with the other worker"


@pytest.mark.parametrize("name", ["two-tower", "bpr"])
def test_evaluate_on_two_workers_prints_one_table(tmp_path: Path, name: str) -> None:
    """The pairwise paths (two-tower's autodiff, bpr's gradients written out) through `reco
    evaluate --workers 2`: the chief alone prints the table and writes the report."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    report = tmp_path / "r.html"
    command = [sys.executable, "-m", "training", "evaluate", "--models", name,
               "--workers", "2", "--epochs", "2", "--report", str(report), *TINY]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line for line in done.stdout.splitlines() if line.split()[:1] == [name]]
    assert len(table) == 1 and done.stdout.count("report: ") == 1
    assert 0 < float(table[0].split()[3]) <= 1  # ndcg@10 of a model that trained
    assert list(tmp_path.iterdir()) == [report]
