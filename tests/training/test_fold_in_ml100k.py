"""Fold-in reproduces the trained model on MovieLens 100K: for every factor family, folding in
each user's own training interactions (oldest first) gives back their trained top-10 (seen
items excluded) with mean overlap >= 0.9. The tiny-data contract is test_fold_in.py."""

from __future__ import annotations

import pytest

from tests.conftest import ML100K, needs_ml100k
from tests.training.test_fold_in import mean_top_k_overlap
from training.vocab import EncodedInteractions

pytestmark = [pytest.mark.slow, needs_ml100k]


@pytest.fixture(scope="module")
def ml100k() -> EncodedInteractions:
    from training.datasets.movielens import load_movielens

    return EncodedInteractions.encode(load_movielens(ML100K))


@pytest.mark.parametrize("name", ["als", "imf", "bpr", "mf", "gmf"])
def test_ml100k_fold_in_reproduces_trained_top_10(ml100k: EncodedInteractions, name: str) -> None:
    from training.models.base import create_model

    model = create_model(name)
    model.fit(ml100k)
    overlap = mean_top_k_overlap(model.scorer, ml100k, k=10)
    assert overlap >= 0.9, f"{name}: mean top-10 overlap {overlap:.4f}"
