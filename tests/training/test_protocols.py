import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ML100K, needs_ml100k
from training.metrics import auc, loo_rank, ranking_metrics
from training.protocols import dedupe_latest, loo_candidates, loo_split, rank_split


def test_ranking_metrics_hand_computed():
    top = np.array([5, 1, 7, 2])
    metrics = ranking_metrics(top, {1, 2, 9}, n_relevant=3, k=4)
    assert metrics["precision@4"] == 0.5
    assert metrics["recall@4"] == pytest.approx(2 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics["ndcg@4"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert metrics["map@4"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert metrics["mrr@4"] == 0.5


def test_auc_counts_ties_as_half():
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    positive = np.array([False, True, False, False])
    assert auc(scores, positive) == pytest.approx((0 + 0.5 + 1) / 3)


def test_loo_rank_puts_equal_negatives_above():
    assert loo_rank(0.5, np.array([0.5, 0.1, 0.7])) == 2


def test_dedupe_keeps_latest_row():
    frame = pd.DataFrame(
        {
            "user": ["a", "a", "a"],
            "item": ["x", "x", "y"],
            "rating": [1.0, 5.0, 3.0],
            "timestamp": [2, 2, 1],
        }
    )
    out = dedupe_latest(frame)
    assert sorted(out["rating"].tolist()) == [3.0, 5.0]


def test_rank_split_sizes_follow_the_protocol(rng):
    sizes = {"a": 1, "b": 2, "c": 4, "d": 10}
    frame = pd.DataFrame(
        [(u, f"{u}{i}", 1.0, i) for u, n in sizes.items() for i in range(n)],
        columns=["user", "item", "rating", "timestamp"],
    )
    train, test = rank_split(frame, rng)
    counts = test["user"].value_counts().to_dict()
    assert counts == {"b": 1, "c": 1, "d": 3}  # floor(0.25 n + 0.5), >= 1, <= n - 1
    assert "a" in set(train["user"])


def test_loo_split_holds_out_latest_tie_to_later_row():
    frame = pd.DataFrame(
        {
            "user": ["a", "a", "a"],
            "item": ["x", "y", "z"],
            "rating": [1.0] * 3,
            "timestamp": [1, 5, 5],
        }
    )
    train, test = loo_split(frame)
    assert test["item"].tolist() == ["z"] and len(train) == 2


def test_loo_candidates_draw_as_filtering_by_value(rng):
    users = rng.integers(0, 30, 600).astype(str)
    frame = pd.DataFrame({"user": users, "item": rng.integers(0, 150, 600).astype(str),
                          "rating": 1.0, "timestamp": np.arange(600)})  # fmt: skip
    frame = dedupe_latest(frame)
    _, test = loo_split(frame)
    drawn = list(loo_candidates(frame, test, np.random.default_rng(3)))
    reference_rng = np.random.default_rng(3)  # PROTOCOLS.md, written out by value
    universe = np.array(sorted(frame["item"].unique()), dtype=object)
    for (user, candidates), held in zip(drawn, test.itertuples(), strict=True):
        seen = set(frame.loc[frame["user"] == held.user, "item"])
        pool = np.array([i for i in universe if i not in seen], dtype=object)
        expected = reference_rng.choice(pool, size=min(99, len(pool)), replace=False)
        assert user == held.user and candidates[0] == held.item
        assert candidates[1:].tolist() == expected.tolist()
        assert not seen & set(candidates[1:])


@pytest.mark.slow
@needs_ml100k
def test_ml100k_popularity_loo_reference_figure():
    from training.datasets.movielens import load_movielens
    from training.models.base import create_model
    from training.protocols import run_protocol

    result = run_protocol("loo", lambda: create_model("popularity"), load_movielens(ML100K))
    assert result["metrics"]["hr@10"] == pytest.approx(0.406, abs=0.001)  # the figure


@pytest.mark.slow
@needs_ml100k
def test_ml100k_popularity_rank_reference_figure():
    from training.datasets.movielens import load_movielens
    from training.models.base import create_model
    from training.protocols import run_protocol

    result = run_protocol("rank", lambda: create_model("popularity"), load_movielens(ML100K))
    # the reference figure for popularity, measured with the same protocol
    assert result["metrics"]["ndcg@10"] == pytest.approx(0.251, abs=0.02)


def test_holdout_scores_every_user_as_rank_does_up_to_its_cap(blocks, monkeypatch) -> None:
    """Under the cap the holdout is RANK itself; over it, a seeded sample of that many test
    users is scored after the model fitted the whole training part."""
    from training import pipeline
    from training.models.base import create_model
    from training.protocols import run_rank

    def make():
        return create_model("als", factors=8, iterations=3)

    rank = run_rank(make, blocks, 10, 3)["metrics"]
    for cap in (0, blocks.frame["user"].nunique()):
        full = pipeline.holdout_metrics(make, blocks, seed=3, max_users=cap)
        assert full == pytest.approx(rank, abs=1e-6)
    scored: list[int] = []
    real = pipeline.evaluate_ranking

    def counted(model, train, test, k):
        scored.append(test["user"].nunique())
        return real(model, train, test, k)

    monkeypatch.setattr(pipeline, "evaluate_ranking", counted)
    sampled = pipeline.holdout_metrics(make, blocks, seed=3, max_users=7)
    again = pipeline.holdout_metrics(make, blocks, seed=3, max_users=7)
    assert scored == [7, 7] and sampled == again != pytest.approx(rank, abs=1e-6)
