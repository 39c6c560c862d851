"""Pins of the RANK and LOO splits as they were before the splits were unified: the same seed
must give the same rows in train and test, in the same order, so that figures do not move."""

import hashlib

import numpy as np
import pandas as pd

from tests.conftest import ML100K, needs_ml100k
from training.protocols import dedupe_latest, loo_split, rank_split


def _fixture() -> pd.DataFrame:
    """26 deduplicated rows of 5 users whose ids do not sort as their first appearance, with
    tied timestamps; `row` numbers the rows."""
    rng = np.random.default_rng(7)
    users = rng.choice(["u3", "u1", "u10", "u2", "u7"], 40)
    frame = pd.DataFrame({"user": users, "item": rng.integers(0, 12, 40).astype(str),
                          "rating": 1.0, "timestamp": rng.integers(0, 5, 40)})  # fmt: skip
    frame = dedupe_latest(frame)
    return frame.assign(row=np.arange(len(frame)))


def _digest(frame: pd.DataFrame) -> str:
    columns = frame[["user", "item", "rating", "timestamp"]]
    return hashlib.sha256(pd.util.hash_pandas_object(columns, index=False).to_numpy()).hexdigest()


def test_rank_split_pinned_on_a_small_fixture():
    train, test = rank_split(_fixture(), np.random.default_rng(42))
    assert test["row"].tolist() == [1, 4, 8, 10, 15, 17, 20, 21, 25]
    assert train["row"].tolist()[:10] == [0, 2, 3, 5, 6, 7, 9, 11, 12, 13]
    assert len(train) == 17


def test_loo_split_pinned_on_a_small_fixture():
    train, test = loo_split(_fixture())
    assert test["row"].tolist() == [3, 10, 24, 9, 20]
    assert train["row"].tolist() == [4, 12, 25, 14, 13, 6, 16, 18, 19, 17, 15, 0, 22, 23, 1,
                                     8, 7, 21, 5, 11, 2]  # fmt: skip


@needs_ml100k
def test_ml100k_splits_pinned():
    from training.datasets.movielens import load_movielens

    frame = dedupe_latest(load_movielens(ML100K).frame)
    train, test = rank_split(frame, np.random.default_rng(42))
    assert (_digest(train)[:16], _digest(test)[:16]) == ("dc5b0f9377c53004", "6fb84a6cbb5eece7")
    train, test = loo_split(frame)
    assert (_digest(train)[:16], _digest(test)[:16]) == ("d62531005795858e", "2f43cfab0d6428a5")
