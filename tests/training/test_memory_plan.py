"""Memory planned before a fit: a model over the budget is refused by name with the models
that fit, auto skips such a candidate and says why; the large-data paths (blockwise ALS,
evaluation in batches of users) give what the all-at-once ones gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import block_interactions
from training.interactions import Interactions
from training.memory_plan import MemoryPlanError, check_fits, score_batch_users
from training.models._implicit import ValidationRanker
from training.models.base import create_model
from training.pipeline import train_and_export
from training.protocols import rank_split
from training.ranked import evaluate_ranking
from training.splits import stratified_split
from training.vocab import EncodedInteractions


@pytest.fixture(scope="module")
def blocks() -> Interactions:
    return block_interactions(40, 30, 10, 3)


def _need(name: str, data: EncodedInteractions, **params: object) -> int:
    return create_model(name, **params).memory_bytes(data.n_users, data.n_items, len(data))


def test_ease_over_the_budget_is_refused_naming_a_model_that_fits(
    blocks, tmp_path, monkeypatch
) -> None:
    encoded = EncodedInteractions.encode(blocks)
    budget = (_need("ease", encoded) + _need("popularity", encoded)) // 2
    assert _need("popularity", encoded) < budget < _need("ease", encoded)
    monkeypatch.setenv("RECO_TRAIN_MEMORY_BYTES", str(budget))
    with pytest.raises(MemoryPlanError) as refused:
        train_and_export(lambda: create_model("ease"), blocks, tmp_path, holdout=False,
                         report=False)  # fmt: skip
    message = str(refused.value)
    assert message.startswith("ease needs about ")
    assert "RECO_TRAIN_MEMORY_BYTES" in message and "models that fit: " in message
    assert "popularity" in message.split("models that fit: ")[1].split(", ")
    assert not any(tmp_path.iterdir())  # refused before anything was fitted or written


def test_a_model_within_the_budget_passes(blocks) -> None:
    encoded = EncodedInteractions.encode(blocks)
    check_fits(create_model("ease"), encoded, budget=_need("ease", encoded))


def test_auto_skips_a_candidate_over_the_budget_and_records_why(blocks, monkeypatch) -> None:
    encoded = EncodedInteractions.encode(blocks)
    budget = (_need("ease", encoded) + _need("popularity", encoded)) // 2
    monkeypatch.setenv("RECO_TRAIN_MEMORY_BYTES", str(budget))
    model = create_model("auto", candidates=("ease", "popularity"))
    model.fit(encoded)
    rows = {row["name"]: row for row in model.selection["candidates"]}
    assert rows["ease"]["skipped"].startswith("ease needs about ")
    assert "val_ndcg@10" not in rows["ease"] and "val_ndcg@10" in rows["popularity"]
    assert model.selection["chosen"] == "popularity"


def test_score_batches_follow_the_budget() -> None:
    assert score_batch_users(60_000, budget=20 * 10**9) == 512 * 2**20 // (48 * 60_000)
    assert score_batch_users(60_000, budget=1) == 1


def test_batched_evaluation_equals_one_batch_exactly(blocks, monkeypatch) -> None:
    frame = blocks.frame
    train_frame, test_frame = rank_split(frame, np.random.default_rng(3))
    train = EncodedInteractions.encode(blocks.with_rows(train_frame))
    model = create_model("als", factors=8, iterations=3)
    model.fit(train)
    fit, valid = stratified_split(train, 0.25, np.random.default_rng(1))
    results = []
    for budget in (10**12, 1):  # all users at once (512 a batch), then one user a batch
        monkeypatch.setenv("RECO_TRAIN_MEMORY_BYTES", str(budget))
        metrics, _ = evaluate_ranking(model, train, test_frame, 10)
        ranker = ValidationRanker(fit, valid, np.random.default_rng(2))
        results.append((metrics, ranker(model.scorer), ranker.batch))
    (whole, whole_val, whole_batch), (single, single_val, single_batch) = results
    assert whole_batch >= train.n_users and single_batch == 1
    assert whole == single and whole_val == single_val
    assert pd.Series(whole).notna().all()
