"""Model-specific behaviour of the zoo beyond the shared contract."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_model_contract import FAST, group_blocks

from app.serving.idmap import IdMap
from tests.conftest import options_for
from training.interactions import Interactions
from training.models.als import ALSConfig, ImplicitALS, initial_factors
from training.models.base import create_model
from training.models.ease import ease_weights
from training.models.two_tower import genre_features
from training.vocab import EncodedInteractions


def _params(name: str, **extra: object) -> dict:
    return options_for(name, FAST) | extra


def test_ease_weights_solve_ridge_with_zero_diagonal(rng: np.random.Generator) -> None:
    matrix = (rng.random((30, 6)) < 0.4).astype(np.float32)
    weights = ease_weights(matrix, 2.0)
    assert np.all(np.diag(weights) == 0)
    for item in range(6):  # each column is the ridge regression of that item on the others
        others = np.delete(np.arange(6), item)
        x = matrix[:, others]
        ridge = np.linalg.solve(x.T @ x + 2.0 * np.eye(5), x.T @ matrix[:, item])
        np.testing.assert_allclose(weights[others, item], ridge, rtol=1e-4, atol=1e-5)


def _normal_equations(x0: np.ndarray, other: np.ndarray, pairs: np.ndarray,
                      negatives: np.ndarray, cfg: ALSConfig) -> np.ndarray:  # fmt: skip
    """Each row's exact solution of (O'O + alpha O_c'O_c + reg I) x = (1 + alpha) sum of its
    observed rows of O, where c are its observed pairs and its explicit negatives."""
    out = np.empty_like(x0)
    for row in range(len(x0)):
        seen = np.zeros(len(other))
        seen[pairs[pairs[:, 0] == row, 1]] = 1
        sure = seen.copy()
        sure[negatives[negatives[:, 0] == row, 1]] = 1
        a = other.T @ other + cfg.alpha * other.T @ (sure[:, None] * other)
        b = (1 + cfg.alpha) * other.T @ seen
        out[row] = np.linalg.solve(a + cfg.reg * np.eye(other.shape[1]), b)
    return out


def test_als_iteration_solves_both_sides_exactly_with_explicit_negatives(
    rng: np.random.Generator,
) -> None:
    """With enough conjugate-gradient steps one iteration is the exact ALS update: users
    against the initial items, then items against those users; a dislike is a pair of
    preference 0 at confidence 1 + alpha."""
    codes = np.unique(rng.integers(0, 7 * 9, 40))
    pairs = np.c_[codes // 9, codes % 9].astype(np.int32)
    free = np.setdiff1d(np.arange(7 * 9), codes)[:6]
    negatives = np.c_[free // 9, free % 9].astype(np.int32)
    data = EncodedInteractions(
        users=pairs[:, 0], items=pairs[:, 1], ratings=np.ones(len(pairs), np.float32),
        timestamps=np.arange(len(pairs), dtype=np.int64),
        user_map=IdMap(tuple(f"u{n}" for n in range(7))),
        item_map=IdMap(tuple(f"i{n}" for n in range(9))), is_rating=np.zeros(len(pairs), bool),
        negative_users=negatives[:, 0], negative_items=negatives[:, 1],
    )  # fmt: skip
    cfg = ALSConfig(factors=4, reg=0.5, alpha=2.0, cg_steps=30, iterations=1)
    model = ImplicitALS(cfg)
    model.fit(data)
    users0, items0 = (side.astype(np.float64) for side in initial_factors(cfg, 7, 9))
    users = _normal_equations(users0, items0, pairs, negatives, cfg)
    items = _normal_equations(items0, users, pairs[:, ::-1], negatives[:, ::-1], cfg)
    np.testing.assert_allclose(model.user_factors, users, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(model.item_factors, items, rtol=1e-3, atol=1e-4)


def test_als_logs_validation_when_asked() -> None:
    model = ImplicitALS(ALSConfig(factors=4, iterations=2, validation_fraction=0.2))
    model.fit(group_blocks())
    assert [set(e) for e in model.history.epochs] == [{"val_ndcg@10"}] * 2


def test_rating_threshold_keeps_only_high_ratings_as_positives() -> None:
    data = group_blocks()  # group A rated 5, group B rated 3
    model = create_model("ease", **_params("ease", rating_threshold=4.0))
    model.fit(data)
    histories = np.diff(model.export().arrays["history_indptr"])
    group_b = np.array([u >= "u14" and len(u) == 3 for u in data.user_map.ids])
    assert histories[~group_b].min() > 0 and histories[group_b].sum() == 0


@pytest.mark.parametrize(
    ("pretrain", "stages"), [("gmf+mlp", 3), (True, 3), ("gmf", 2), ("none", 1), (False, 1)]
)
def test_neumf_pretraining_trains_its_stages(pretrain: object, stages: int) -> None:
    model = create_model("neumf", **_params("neumf", pretrain=pretrain, epochs=3, patience=5))
    model.fit(group_blocks())
    assert len(model.history.epochs) == 3 * stages  # gmf, mlp, then neumf, as asked
    exported = model.export()
    assert exported.kind == "ncf" and {"gmf_user", "mlp_user", "mlp_w0"} <= exported.arrays.keys()


def test_neumf_pretrained_on_gmf_alone_starts_as_that_gmf(rng: np.random.Generator) -> None:
    from training.models._keras_ncf import NCFModel
    from training.models.ncf import _combine

    gmf, neumf = NCFModel(5, 7, 4, (), 0.1), NCFModel(5, 7, 4, (6, 3), 0.1, seed=3)
    pairs = np.stack([rng.integers(0, 5, 20), rng.integers(0, 7, 20)], axis=1).astype(np.int32)
    gmf(pairs), neumf(pairs)
    for table in (gmf.item_bias, gmf.user_bias, gmf.out):
        table.set_weights([rng.normal(size=w.shape) for w in table.get_weights()])
    mlp_before = neumf.mlp_user.get_weights()[0].copy()
    _combine(neumf, gmf, None, alpha=0.5)
    np.testing.assert_allclose(neumf(pairs), gmf(pairs), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(neumf.mlp_user.get_weights()[0], mlp_before)


def test_two_tower_uses_genre_features_and_exports_unit_vectors() -> None:
    blocks = group_blocks()
    genres = tuple("A|Drama" if int(i[1:]) < 12 else "B" for i in blocks.item_map.ids)
    data = dataclasses.replace(blocks, item_genres=genres)
    features = genre_features(data.item_genres)
    assert features.shape == (data.n_items, 3) and features.sum() == 36
    model = create_model("two-tower", **_params("two-tower"))
    model.fit(data)
    keras_model = model.keras_model()
    np.testing.assert_array_equal(keras_model.features.numpy(), features)
    arrays = model.export().arrays
    for name in ("user_factors", "item_factors"):
        np.testing.assert_allclose(np.linalg.norm(arrays[name], axis=1), 1.0, atol=1e-5)


def test_two_tower_without_genres_has_no_feature_input() -> None:
    genres = tuple("A" for _ in group_blocks().item_map.ids)
    for data, switch in (
        (group_blocks(), True),
        (dataclasses.replace(group_blocks(), item_genres=genres), False),
    ):
        model = create_model("two-tower", **{**_params("two-tower"), "genres": switch})
        model.fit(data)
        assert model.item_features is None


def test_genre_features_gives_items_without_metadata_a_zero_row() -> None:
    np.testing.assert_array_equal(genre_features(["X|Y", ""]), [[1, 1], [0, 0]])


def test_encoding_carries_item_genres_through_subsets() -> None:
    frame = pd.DataFrame(
        {"user": ["u", "u", "v"], "item": ["a", "b", "a"], "rating": 1.0, "timestamp": 0}
    )
    items = pd.DataFrame({"item": ["a"], "title": ["A"], "genres": ["X|Y"]})
    encoded = EncodedInteractions.encode(Interactions(frame, "t", items))
    assert encoded.item_genres == ("X|Y", "") and encoded.subset([0]).item_genres == ("X|Y", "")
    assert EncodedInteractions.encode(Interactions(frame, "t")).item_genres == ()


def test_bias_model_recovers_item_and_user_offsets() -> None:
    users = np.repeat(np.arange(40), 10)
    items = np.tile(np.arange(10), 40)
    ratings = 3.0 + (items >= 5) * 1.0 - (users >= 20) * 0.5
    frame = pd.DataFrame({"user": users, "item": items, "rating": ratings, "timestamp": 0})
    data = EncodedInteractions.encode(Interactions(frame, "offsets"))
    model = create_model("bias", reg_user=0.0, reg_item=0.0, iterations=30,
                         validation_fraction=0.0)  # fmt: skip
    model.fit(data)
    predicted = model.scorer.predict_pairs(data.users, data.items)
    np.testing.assert_allclose(predicted, ratings, atol=1e-3)


def _drifting_tastes() -> EncodedInteractions:
    """Every user first picks 8 items of block A (items 0-19), later 8 of block B (20-39)."""
    rng = np.random.default_rng(1)
    rows = []
    for user in range(40):
        for block, start in ((0, 0), (20, 1000)):
            picks = rng.choice(20, 8, replace=False) + block
            rows += [(f"u{user}", f"i{item}", 1.0, start + n) for n, item in enumerate(picks)]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    return EncodedInteractions.encode(Interactions(frame, "drift"))


@pytest.mark.parametrize("name", ["imf", "bpr"])
def test_recency_weighting_favours_what_users_turned_to_lately(name: str) -> None:
    """Both blocks have the same number of positives, so with equal weights their item biases
    tie; with recency weights the recent block's are clearly higher (pointwise and pairwise
    losses alike)."""
    data = _drifting_tastes()
    recent = np.array([int(i[1:]) >= 20 for i in data.item_map.ids])

    def recent_lead(recency: float) -> float:
        model = create_model(name, **_params(name, recency=recency, epochs=30))
        model.fit(data)
        bias = model.export().arrays["item_bias"]
        return float(bias[recent].mean() - bias[~recent].mean())

    equal = recent_lead(0.0)
    assert abs(equal) < 0.1
    assert recent_lead(2.0) > equal + 0.15


def test_finish_epochs_train_on_their_own_data_after_early_stopping() -> None:
    """After early stopping, the finishing epochs draw from their own data (here the only
    rows that mention item 3) with the same optimizer, once per finishing epoch."""
    from keras import ops

    from training.models._epochs import Epoch
    from training.models._keras import FactorModel
    from training.models._keras_fit import Finish, fit_epochs, taped

    model = FactorModel(2, 4, 2, 0.0, seed=0)
    model(np.zeros((1, 2), np.int32))
    rows = np.zeros((8, 2), np.int32)
    finish_rows = np.tile(np.array([[0, 3]], np.int32), (8, 1))
    calls: list[int] = []

    def finish_data() -> Epoch:
        calls.append(1)
        return Epoch(8, iter([(finish_rows, np.ones(8, np.float32))]))

    def loss(model: Any, batch: tuple) -> Any:
        return ops.mean((ops.reshape(model(batch[0]), (-1,)) - batch[1]) ** 2)

    before = float(np.asarray(model(finish_rows[:1])).reshape(-1)[0])
    fit_epochs(
        model, taped(loss), lambda: Epoch(8, iter([(rows, np.ones(8, np.float32))])),
        lambda: 0.0, name="t", epochs=2, batch_size=8, learning_rate=0.1, patience=5, history=[],
        finish=Finish(finish_data, 3, 0.5),
    )  # fmt: skip
    assert len(calls) == 3
    after = float(np.asarray(model(finish_rows[:1])).reshape(-1)[0])
    assert after > before + 0.1


@pytest.mark.parametrize("name", ["imf", "bpr"])
def test_sampled_models_fit_when_a_user_has_every_item(name: str) -> None:
    """The default synthetic data has such a user: no negative exists for them, and the fit
    used to stop with 'no negatives exist'."""
    rows = [("all", f"i{i}") for i in range(6)] + [(f"u{u}", f"i{u % 6}") for u in range(12)]
    frame = pd.DataFrame(rows, columns=["user", "item"]).assign(rating=1.0, timestamp=0)
    data = EncodedInteractions.encode(Interactions(frame, "saturated"))
    model = create_model(name, **_params(name, epochs=2))
    model.fit(data)
    assert np.isfinite(model.score(np.arange(data.n_users))).all()
