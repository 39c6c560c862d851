"""Fold-in for the dot-product families: each solves, for one user's vector and bias with the
item side fixed, the per-user objective its model was trained with, using the
hyperparameters the bundle's params record (`objective` names the family's objective).

A user's part of a training loss is a sum over their rows: with per-row L2 (the Keras
models penalise the batch's rows), the weight on the user's vector is l2 x their number of
rows. Sampled negatives are taken in expectation, uniformly over the items outside the
history, as the sampler draws them; each weighs what its positive weighs, and positives
weigh by recency where training did (so histories come oldest first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from app.serving.scorers.base import (
    ALL_ITEMS,
    DISLIKE_WEIGHT,
    NOTHING,
    ItemSelection,
    explicit_negatives,
    fold_in_param,
    pointwise_targets,
    positive_items,
    rating_history,
    recency_weights,
    threshold_param,
)

if TYPE_CHECKING:
    from app.serving.scorers.dot import DotScorer

Solution = tuple[np.ndarray, float]  # the user's vector and bias
Objective = Callable[[np.ndarray, bool], tuple[float, np.ndarray, np.ndarray] | float]

NEWTON_STEPS = 30
TOLERANCE = 1e-5
MARGIN_STEPS = 100


def _design(scorer: DotScorer, with_bias: bool, items: ItemSelection = ALL_ITEMS) -> np.ndarray:
    """Item factors of `items` (float64), with a column of ones for the user bias when there
    is one."""
    factors = scorer.item_factors[items].astype(np.float64)
    if not with_bias:
        return factors
    return np.hstack([factors, np.ones((len(factors), 1))])


def _gram(factors: np.ndarray, reg: float) -> np.ndarray:
    """Y'Y + reg I in float64, the part of every ALS user solve that no history changes."""
    gram = factors.T.astype(np.float64) @ factors.astype(np.float64)
    return gram + reg * np.eye(len(gram))


def _has_user_bias(scorer: DotScorer) -> bool:
    return "user_bias" in scorer.arrays


def _split(theta: np.ndarray, with_bias: bool) -> Solution:
    return (theta[:-1], float(theta[-1])) if with_bias else (theta, 0.0)


def newton(objective: Objective, width: int) -> np.ndarray:
    """The minimiser of a smooth convex `objective(theta, derivatives)` (value, or value,
    gradient and Hessian), by Newton steps from zero with a backtracking line search."""
    theta = np.zeros(width)
    for _ in range(NEWTON_STEPS):
        value, grad, hess = objective(theta, True)  # type: ignore[misc]
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while objective(theta - size * step, False) > value - 0.25 * size * (grad @ step):
            size /= 2
            if size < 1e-4:
                break
        theta = theta - size * step
        if np.abs(size * step).max() < TOLERANCE:
            break
    return theta


def als(
    scorer: DotScorer,
    items: np.ndarray,
    values: np.ndarray,
    is_rating: np.ndarray,
    disliked: np.ndarray | None = None,
) -> Solution:
    """Implicit ALS: every item is a target (1 on the distinct history, 0 elsewhere) with
    confidence 1 + alpha on the history, L2 `reg`: the exact solve of
    (Y'Y + reg I + alpha Y_h'Y_h) x = (1 + alpha) sum of the history rows of Y. A disliked
    item is an explicit negative (Hu et al.'s preference 0 at confidence 1 + alpha, as
    implicit reads a negative value): it joins Y_h on the left only, which shrinks the
    user's score of it by 1 / (1 + alpha y' M^-1 y) instead of raising it."""
    history = positive_items(items, values, is_rating, threshold_param(scorer))
    reg, alpha = fold_in_param(scorer, "reg"), fold_in_param(scorer, "alpha")
    gram = scorer.cached("als_gram", lambda: _gram(scorer.item_factors, reg))
    rows = scorer.item_factors[history].astype(np.float64)
    negatives = np.setdiff1d(
        np.asarray(disliked if disliked is not None else [], np.int64), history
    )
    confident = scorer.item_factors[np.r_[history, negatives]].astype(np.float64)
    vector = np.linalg.solve(
        gram + alpha * confident.T @ confident, (1.0 + alpha) * rows.sum(axis=0)
    )
    return vector, 0.0


def logistic(
    scorer: DotScorer,
    items: np.ndarray,
    values: np.ndarray,
    is_rating: np.ndarray,
    disliked: np.ndarray = NOTHING,
) -> Solution:
    """Binary cross-entropy on the distinct history (label 1, recency-weighted) and
    `negatives` sampled items per positive (label 0, weighing what their positive weighs, in
    expectation over the other items) and the disliked items (label 0), per-row L2 `l2` on
    the user's vector and bias (imf, gmf)."""
    history = positive_items(items, values, is_rating, threshold_param(scorer))
    with_bias = _has_user_bias(scorer)
    design = scorer.cached(f"design{with_bias}", lambda: _design(scorer, with_bias))
    offset = scorer.cached("offset", lambda: (scorer.item_bias + scorer.global_bias).astype(float))
    labels, weights, ridge = pointwise_targets(scorer, history, disliked)

    def objective(theta: np.ndarray, derivatives: bool) -> tuple | float:
        logits = design @ theta + offset
        value = weights @ (np.logaddexp(0.0, logits) - labels * logits) + ridge / 2 * theta @ theta
        if not derivatives:
            return value
        chance = 1.0 / (1.0 + np.exp(-logits))
        grad = design.T @ (weights * (chance - labels)) + ridge * theta
        hess = (design.T * (weights * chance * (1.0 - chance))) @ design
        return value, grad, hess + ridge * np.eye(len(theta))

    return _split(newton(objective, design.shape[1]), with_bias)


def bpr(
    scorer: DotScorer,
    items: np.ndarray,
    values: np.ndarray,
    is_rating: np.ndarray,
    disliked: np.ndarray = NOTHING,
) -> Solution:
    """BPR: -log sigmoid(s_h - s_j) for each distinct history item h (recency-weighted) and
    `negatives` sampled items j (in expectation over the other items), plus each disliked
    item d against a random positive (1 / positives per pair h, d), per-triple L2 `l2` on the
    user's vector. The big pairwise arrays are float32: fold-in runs per request."""
    history = positive_items(items, values, is_rating, threshold_param(scorer))
    l2, negatives = fold_in_param(scorer, "l2"), fold_in_param(scorer, "negatives")
    factors = scorer.item_factors
    others = np.setdiff1d(np.arange(len(factors)), history)
    chosen, rest = factors[history], factors[others]
    bias_gap = scorer.item_bias[history][:, None] - scorer.item_bias[others][None, :]
    pair_weight = recency_weights(len(history), scorer.params) * negatives / max(len(others), 1)
    pair_weight = np.repeat(pair_weight.astype(np.float32)[:, None], len(others), axis=1)
    disliked = explicit_negatives(history, disliked)
    pair_weight[:, np.searchsorted(others, disliked)] += DISLIKE_WEIGHT / len(history)
    ridge = 2.0 * l2 * (len(history) * negatives + len(disliked))

    def objective(theta: np.ndarray, derivatives: bool) -> tuple | float:
        vector = theta.astype(np.float32)
        gaps = (chosen @ vector)[:, None] - (rest @ vector)[None, :] + bias_gap
        value = float((pair_weight * np.logaddexp(0.0, -gaps)).sum()) + ridge / 2 * theta @ theta
        if not derivatives:
            return value
        miss = pair_weight / (1.0 + np.exp(gaps))  # weight x (1 - sigmoid(gap))
        grad = rest.T @ miss.sum(axis=0) - chosen.T @ miss.sum(axis=1) + ridge * theta
        curve = miss * (1.0 - miss / pair_weight)  # weight x sigmoid' (gap)
        cross = chosen.T @ (curve @ rest)
        hess = (chosen.T * curve.sum(axis=1)) @ chosen + (rest.T * curve.sum(axis=0)) @ rest
        return value, grad, hess - cross - cross.T + ridge * np.eye(len(theta))

    return newton(objective, factors.shape[1]), 0.0


def ratings(
    scorer: DotScorer, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray
) -> Solution:
    """Rating regression (mf): squared error of the predicted rating on the history's
    ratings, per-rating L2 `l2` on the vector and `bias_l2` on the bias. An ensemble of
    `members` averaged factorizations penalises its concatenated vector `members` times as
    much. Gauss-Newton steps, exact in one for the identity output."""
    rated, targets = rating_history(items, values, is_rating)
    l2, bias_l2 = fold_in_param(scorer, "l2"), fold_in_param(scorer, "bias_l2")
    members = float(scorer.params.get("members", 1))
    design = _design(scorer, with_bias=True, items=rated)
    offset = (scorer.item_bias[rated] + scorer.global_bias).astype(np.float64)
    n, width = len(rated), design.shape[1]
    penalty = np.diag(np.r_[np.full(width - 1, l2 * members * n), bias_l2 * n])
    theta = np.zeros(width)
    for _ in range(NEWTON_STEPS):
        predicted, slope = scorer.transform_slope(design @ theta + offset)
        jacobian = design * slope[:, None]
        target = jacobian.T @ (targets - predicted + jacobian @ theta)
        new = np.linalg.solve(jacobian.T @ jacobian + penalty, target)
        converged = np.abs(new - theta).max() < TOLERANCE or scorer.output == "identity"
        theta = new
        if converged:
            break
    return _split(theta, with_bias=True)


def baseline(
    scorer: DotScorer, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray
) -> Solution:
    """Baseline predictor (bias): the user bias in closed form, the mean residual rating
    shrunk by `reg_user`: sum(r - mu - b_i) / (reg_user + n)."""
    rated, targets = rating_history(items, values, is_rating)
    residual = targets - scorer.global_bias - scorer.item_bias[rated]
    bias = float(residual.sum() / (fold_in_param(scorer, "reg_user") + len(rated)))
    return np.zeros(scorer.item_factors.shape[1]), bias


def margin(
    scorer: DotScorer,
    items: np.ndarray,
    values: np.ndarray,
    is_rating: np.ndarray,
    disliked: np.ndarray = NOTHING,
) -> Solution:
    """Two-tower: the unit user vector minimising the triplet loss
    max(0, margin - cos(u, h) + cos(u, j)) over the history h (recency-weighted) and (in
    expectation) the other items j, a disliked item weighing as training's one triple per
    epoch against a random positive, by projected subgradient steps from the history's mean
    direction. The user tower's L2 is left out: it acts on an embedding the bundle does not
    hold."""
    history = positive_items(items, values, is_rating, threshold_param(scorer))
    gap = fold_in_param(scorer, "margin")
    factors = scorer.item_factors
    others = np.setdiff1d(np.arange(len(factors)), history)
    chosen, rest = factors[history], factors[others]
    weights = recency_weights(len(history), scorer.params).astype(np.float32)
    vector = _unit(weights @ chosen)
    pair_weights = np.repeat(weights[:, None], len(others), axis=1)
    disliked = explicit_negatives(history, disliked)
    if len(disliked):  # a sampled pair weighs w_h * negatives / len(others) in training
        share = len(others) / (fold_in_param(scorer, "negatives") * len(history))
        pair_weights[:, np.searchsorted(others, disliked)] += DISLIKE_WEIGHT * share
    best, best_loss = vector, np.inf
    for step in range(MARGIN_STEPS):
        violation = gap - (chosen @ vector)[:, None] + (rest @ vector)[None, :]
        active = (violation > 0) * pair_weights
        loss = float((violation * active).sum())
        if loss < best_loss:
            best, best_loss = vector, loss
        if not loss:
            break
        grad = active.sum(axis=0) @ rest - active.sum(axis=1) @ chosen
        vector = _unit(vector - grad / (active.sum() * np.sqrt(step + 1.0)))
    return best.astype(np.float64), 0.0


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


FOLD_INS: dict[str, Callable[..., Solution]] = {
    "als": als,
    "logistic": logistic,
    "bpr": bpr,
    "ratings": ratings,
    "baseline": baseline,
    "margin": margin,
}
