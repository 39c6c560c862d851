"""The numpy scorer kinds added by the model zoo: ncf, item_item, bias."""

from __future__ import annotations

import numpy as np
import pytest

from app.serving.scorers import ScorerError, build_scorer


def _ncf_arrays(rng: np.random.Generator, gmf: bool = True) -> dict[str, np.ndarray]:
    arrays = {
        "mlp_user": rng.normal(size=(4, 3)), "mlp_item": rng.normal(size=(5, 3)),
        "mlp_w0": rng.normal(size=(6, 4)), "mlp_b0": rng.normal(size=4),
        "mlp_w1": rng.normal(size=(4, 2)), "mlp_b1": rng.normal(size=2),
        "out_w": rng.normal(size=(2 + 2 * gmf)), "out_b": np.array([0.3]),
    }  # fmt: skip
    if gmf:
        arrays |= {"gmf_user": rng.normal(size=(4, 2)), "gmf_item": rng.normal(size=(5, 2))}
    return {k: v.astype(np.float32) for k, v in arrays.items()}


def _ncf_reference(a: dict[str, np.ndarray], user: int, item: int) -> float:
    """NeuMF written out for one pair, as in the paper."""
    hidden = np.concatenate([a["mlp_user"][user], a["mlp_item"][item]])
    hidden = np.maximum(hidden @ a["mlp_w0"] + a["mlp_b0"], 0)
    hidden = np.maximum(hidden @ a["mlp_w1"] + a["mlp_b1"], 0)
    joined = hidden
    if "gmf_user" in a:
        joined = np.concatenate([a["gmf_user"][user] * a["gmf_item"][item], hidden])
    return float(joined @ a["out_w"] + a["out_b"][0])


@pytest.mark.parametrize("gmf", [True, False])
def test_ncf_scorer_matches_reference_formula(rng: np.random.Generator, gmf: bool) -> None:
    arrays = _ncf_arrays(rng, gmf)
    scorer = build_scorer("ncf", arrays, {})
    expected = np.array([[_ncf_reference(arrays, u, i) for i in range(5)] for u in range(4)])
    np.testing.assert_allclose(scorer.score_users(np.arange(4)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scorer.score_pairs(2, np.array([4, 0])), expected[2, [4, 0]],
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    assert scorer.item_embeddings().shape == (5, 3 + 2 * gmf)


def test_ncf_scorer_rejects_mismatched_output_weights(rng: np.random.Generator) -> None:
    arrays = _ncf_arrays(rng) | {"out_w": np.ones(7, np.float32)}
    with pytest.raises(ScorerError, match="out_w has 7 weights, expected 4"):
        build_scorer("ncf", arrays, {})


def _item_item_arrays() -> dict[str, np.ndarray]:
    weights = np.arange(16, dtype=np.float32).reshape(4, 4)
    # user 0: items 1, 3; user 1: nothing; user 2: item 0
    return {"item_weights": weights, "history_indptr": np.array([0, 2, 2, 3]),
            "history_indices": np.array([1, 3, 0], np.int32)}  # fmt: skip


def test_item_item_scorer_sums_weight_rows_of_history() -> None:
    scorer = build_scorer("item_item", _item_item_arrays(), {})
    weights = _item_item_arrays()["item_weights"]
    scores = scorer.score_users(np.array([2, 0, 1]))
    np.testing.assert_array_equal(scores, np.stack([weights[0], weights[1] + weights[3],
                                                    np.zeros(4)]))  # fmt: skip
    np.testing.assert_array_equal(scorer.score_history(np.array([3, 1, 3])), scores[1])


def test_item_item_scorer_rejects_out_of_range_history() -> None:
    scorer = build_scorer("item_item", _item_item_arrays(), {})
    with pytest.raises(ScorerError, match=r"0\.\.3"):
        scorer.score_history(np.array([4]))
    bad = _item_item_arrays() | {"history_indices": np.array([1, 9, 0], np.int32)}
    with pytest.raises(ScorerError, match="item 9"):
        build_scorer("item_item", bad, {})


def test_bias_scorer_predicts_baseline_for_unknown_sides() -> None:
    arrays = {"user_bias": np.array([0.5, -0.5], np.float32),
              "item_bias": np.array([1.0, 0.0, -1.0], np.float32)}  # fmt: skip
    scorer = build_scorer("bias", arrays, {"global_bias": 3.0})
    predicted = scorer.predict_pairs(np.array([0, -1, 1]), np.array([0, 2, -1]))
    np.testing.assert_allclose(predicted, [4.5, 2.0, 2.5])
    np.testing.assert_allclose(scorer.score_users(np.array([1]))[0], [3.5, 2.5, 1.5])
    assert scorer.item_embeddings() is None


@pytest.mark.parametrize("gmf", [True, False])
def test_ncf_fold_in_gradient_matches_finite_differences(
    rng: np.random.Generator, gmf: bool
) -> None:
    """The hand-written backpropagation that NCF fold-in steps along, against the scorer."""
    from app.serving.scorers.ncf import _logit_gradient, _pack, _unpack

    scorer = build_scorer("ncf", _ncf_arrays(rng, gmf), {})
    theta = _pack(scorer.user_side(np.array([1])))[0]
    upstream = rng.normal(size=scorer.n_items)

    def total(packed: np.ndarray) -> float:
        return float(upstream @ scorer._score(_unpack(scorer, packed[None, :]), slice(None))[0])

    analytic = _logit_gradient(scorer, _unpack(scorer, theta[None, :]), upstream)
    steps = np.eye(len(theta)) * 1e-3
    numeric = [(total(theta + s) - total(theta - s)) / 2e-3 for s in steps]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-2, atol=1e-2)
