"""What makes bpr's epoch affordable at 20M interactions without changing what it learns on
ml-100k: an epoch of shuffled passes over the positives, the factor model's
gradients written out, row-wise Adam on big tables and bigger steps for big epochs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras
import tensorflow as tf

from training.datasets.synthetic import make_synthetic
from training.models._implicit import positives, recency_weights
from training.models._keras import FactorModel
from training.models._keras_fit import MAX_STEPS, step_rows
from training.models._row_adam import LAZY_SHARE, RowAdam
from training.models.base import create_model
from training.vocab import EncodedInteractions, pair_codes


def test_a_pairwise_epoch_is_one_shuffled_pass_over_the_positives_per_sampled_item() -> None:
    """bpr's epoch: `negatives` passes, each every positive once in its own order (so a batch
    holds distinct positives) with a sampled item the user never chose; weights travel with
    their rows."""
    data = positives(EncodedInteractions.encode(make_synthetic(30, 80, 900, seed=4)), None)
    bpr = create_model("bpr")
    triples, weights = bpr.epoch_sampler(data, np.random.default_rng(0))()
    n, k = len(data), bpr.config.negatives
    assert triples.shape == (n * k, 3) and weights.shape == (n * k,)
    pairs = pair_codes(data.users, data.items, data.n_items)
    passes = triples.reshape(k, n, 3)
    for one in passes:
        np.testing.assert_array_equal(np.sort(pair_codes(one[:, 0], one[:, 1], data.n_items)),
                                      np.sort(pairs))  # fmt: skip
    assert not np.array_equal(passes[0][:, :2], passes[1][:, :2])  # each pass its own order
    assert not np.isin(pair_codes(triples[:, 0], triples[:, 2], data.n_items), pairs).any()
    weight_of = dict(zip(pairs.tolist(), recency_weights(data, bpr.config.recency), strict=True))
    chosen = pair_codes(triples[:, 0], triples[:, 1], data.n_items).tolist()
    np.testing.assert_array_equal(weights, [weight_of[c] for c in chosen])
    assert weights.std() > 0  # recency weights: not all the same


def test_bpr_gradients_written_out_equal_autodiff_of_its_triples_fed_as_pairs() -> None:
    """bpr's closed-form loss and gradients are autodiff's of its definition: -log
    sigmoid(score(u, i) - score(u, j)), weighted, over the triples fed to the model as pairs
    (u, i) and (u, j), plus the penalty `call` adds for them; repeated rows sum. The user
    biases, in no margin, stay at their zero start (no gradient)."""
    from keras import ops

    model = FactorModel(20, 30, 4, 0.02, seed=1, bias_l2=0.05)
    model(np.zeros((1, 2), np.int32))
    rng = np.random.default_rng(2)
    model.item_bias.embeddings.assign(rng.normal(size=(30, 1)).astype(np.float32))
    rows = rng.integers(0, 20, (9, 3)).astype(np.int32)
    rows[1] = rows[0]  # a repeated triple
    weights = rng.uniform(0.5, 2.0, 9).astype(np.float32)

    with tf.GradientTape() as tape:
        pairs = np.concatenate([rows[:, :2], rows[:, ::2]])
        positive, negative = ops.split(ops.reshape(model(pairs), (-1,)), 2)
        loss = ops.mean(-ops.log_sigmoid(positive - negative) * weights) + sum(model.losses)
    expected = tape.gradient(loss, model.trainable_variables)
    closed_loss, closed = model.pairwise_gradients(tf.constant(rows), tf.constant(weights))

    assert float(closed_loss) == pytest.approx(float(loss), rel=1e-5)
    for variable, want, got in zip(model.trainable_variables, expected, closed, strict=True):
        want = tf.convert_to_tensor(want).numpy()
        if variable is model.user_bias.embeddings:
            assert got is None and np.abs(want).max() < 1e-7
            continue
        np.testing.assert_allclose(tf.convert_to_tensor(got).numpy(), want, atol=1e-7)
        assert np.abs(want).max() > 1e-4  # every other table has a gradient to compare


def _step(optimizer: RowAdam, table: keras.Variable, rows: np.ndarray, values: np.ndarray):
    """One compiled (XLA) step of `optimizer` on `table` with a row gradient."""

    @tf.function(jit_compile=True)
    def apply(indices: tf.Tensor, grads: tf.Tensor) -> None:
        shape = tf.constant(tuple(table.shape), tf.int64)
        optimizer.apply_gradients([(tf.IndexedSlices(grads, indices, shape), table)])

    apply(tf.constant(rows, tf.int32), tf.constant(values, tf.float32))


def test_row_adam_updates_only_the_touched_rows_as_adam_does() -> None:
    """A big table (more than LAZY_SHARE rows per batch row) goes row-wise: its first step
    equals Keras' Adam's; then a row outside the step stays put where Keras' Adam moves it
    on its stale momentum. A row named twice takes the sum of its gradients. A small table
    stays on Keras' Adam."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(40, 3)).astype(np.float32)
    tables = [keras.Variable(start.copy()) for _ in range(3)]
    lazy, twice = (RowAdam(0.1, [t], batch_rows=40 // LAZY_SHARE - 1) for t in tables[:2])
    dense = RowAdam(0.1, [tables[2]], batch_rows=40 // LAZY_SHARE)
    assert list(lazy.lazy.values()) == [tables[0]] and not dense.lazy

    rows, values = np.array([5, 2]), rng.normal(size=(2, 3)).astype(np.float32)
    for optimizer, table in ((lazy, tables[0]), (dense, tables[2])):
        _step(optimizer, table, rows, values)
    halves = np.r_[values[:1], values] * np.array([[0.25], [0.75], [1.0]], np.float32)
    _step(twice, tables[1], np.array([5, 5, 2]), halves)
    np.testing.assert_allclose(tables[0].numpy(), tables[2].numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(tables[1].numpy(), tables[0].numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(tables[0].numpy()[[0, 1, 3]], start[[0, 1, 3]])
    assert not np.allclose(tables[0].numpy()[5], start[5])

    before = tables[0].numpy()
    for optimizer, table in ((lazy, tables[0]), (dense, tables[2])):
        _step(optimizer, table, np.array([7]), np.ones((1, 3), np.float32))
    after = tables[0].numpy()
    np.testing.assert_array_equal(after[[2, 5]], before[[2, 5]])  # untouched this step
    assert not np.allclose(tables[2].numpy()[5], before[5])  # Keras' Adam moved it
    np.testing.assert_allclose(after[7], tables[2].numpy()[7], rtol=1e-6)


def test_big_epochs_take_bigger_steps_small_ones_keep_the_batch() -> None:
    assert step_rows(760_000, 512) == 512  # ml-100k's bpr: 512 rows of 8 triples
    assert step_rows(17_500_000, 512) == -(-17_500_000 // MAX_STEPS)
    assert step_rows(10, 4096) == 4096
