"""What makes bpr's epoch affordable at 20M interactions without changing what it learns on
ml-100k: an epoch of shuffled passes over the positives, the factor model's
gradients written out, row-wise Adagrad on big tables and bigger steps for big epochs."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras
import tensorflow as tf

from tests.training.epoch_arrays import whole
from training.datasets.synthetic import make_synthetic
from training.models._epochs import in_batches, prefetched
from training.models._implicit import positives, recency_weights
from training.models._keras import FactorModel
from training.models._keras_fit import MAX_STEPS, step_rows
from training.models._table_optimizer import ROW_WISE_RATE, ROW_WISE_SHARE, TableOptimizer
from training.models.base import create_model
from training.vocab import EncodedInteractions, pair_codes


def test_a_pairwise_epoch_is_one_shuffled_pass_over_the_positives_per_sampled_item() -> None:
    """bpr's epoch: `negatives` passes, each every positive once in its own order (so a batch
    holds distinct positives) with a sampled item the user never chose; weights travel with
    their rows."""
    data = positives(EncodedInteractions.encode(make_synthetic(30, 80, 900, seed=4)), None)
    bpr = create_model("bpr")
    triples, weights = whole(bpr.epoch_sampler(data, np.random.default_rng(0))())
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


def test_a_grouped_epoch_holds_each_positive_once_with_all_its_sampled_items() -> None:
    """bpr at scale: one row per positive, (user, positive, `negatives` items the user
    never chose), in `negatives` parts of one random order; weights travel with rows."""
    data = positives(EncodedInteractions.encode(make_synthetic(30, 80, 900, seed=4)), None)
    bpr = create_model("bpr")
    k = bpr.config.negatives
    epoch = bpr.epoch_sampler(data, np.random.default_rng(0), None, True)()
    assert epoch.group == k and epoch.rows == len(data)
    parts = list(epoch.parts)
    assert len(parts) == k
    rows = np.concatenate([part[0] for part in parts])
    weights = np.concatenate([part[1] for part in parts])
    assert rows.shape == (len(data), 2 + k)
    pairs = pair_codes(data.users, data.items, data.n_items)
    np.testing.assert_array_equal(np.sort(pair_codes(rows[:, 0], rows[:, 1], data.n_items)),
                                  np.sort(pairs))  # fmt: skip
    sampled = pair_codes(np.repeat(rows[:, 0], k), rows[:, 2:].reshape(-1), data.n_items)
    assert not np.isin(sampled, pairs).any()
    assert not (np.diff(rows[: len(parts[0][0]), 0]) >= 0).all()  # shuffled, not user order
    weight_of = dict(zip(pairs.tolist(), recency_weights(data, bpr.config.recency), strict=True))
    chosen = pair_codes(rows[:, 0], rows[:, 1], data.n_items).tolist()
    np.testing.assert_allclose(weights, [weight_of[c] for c in chosen], rtol=1e-6)


def test_bpr_groups_its_sampled_items_when_an_epoch_outgrows_its_steps(monkeypatch) -> None:
    """With the steps capped (MAX_STEPS 4 here, as 17.5M positives cap them at 20M), bpr
    trains on grouped rows, and learns: a user's held items outscore the rest."""
    import training.models._keras_fit as keras_fit
    import training.models._sampled as sampled

    groups = []

    def spy(*args):
        epoch = sampled_rows(*args)
        return lambda: groups.append(1) or epoch()

    sampled_rows = sampled.rows_sampler
    monkeypatch.setattr(sampled, "rows_sampler", spy)
    monkeypatch.setattr(keras_fit, "MAX_STEPS", 4)
    data = EncodedInteractions.encode(make_synthetic(30, 80, 900, seed=4))
    model = create_model("bpr", epochs=10, factors=8, batch_size=64, learning_rate=0.05,
                         validation_fraction=0.0, finish_epochs=0)  # fmt: skip
    model.fit(data)
    assert len(groups) == 10
    scores = model.score(np.arange(data.n_users))
    held = np.zeros_like(scores, bool)
    held[data.users, data.items] = True
    assert np.isfinite(scores).all() and scores[held].mean() > scores[~held].mean() + 0.1


@pytest.mark.parametrize("sampled", [1, 3])
def test_bpr_gradients_written_out_equal_autodiff_of_its_triples_fed_as_pairs(
    sampled: int,
) -> None:
    """bpr's closed-form loss and gradients are autodiff's of its definition: -log
    sigmoid(score(u, i) - score(u, j)), weighted, over the triples fed to the model as pairs
    (u, i) and (u, j), plus the penalty `call` adds for them; repeated rows sum. A row of
    (u, i) with `sampled` items stands for those triples. The user biases, in no margin,
    stay at their zero start (no gradient)."""
    from keras import ops

    model = FactorModel(20, 30, 4, 0.02, seed=1, bias_l2=0.05)
    model(np.zeros((1, 2), np.int32))
    rng = np.random.default_rng(2)
    model.item_bias.embeddings.assign(rng.normal(size=(30, 1)).astype(np.float32))
    grouped = rng.integers(0, 20, (9, 2 + sampled)).astype(np.int32)
    grouped[1] = grouped[0]  # a repeated row
    row_weights = rng.uniform(0.5, 2.0, 9).astype(np.float32)
    rows = np.concatenate([grouped[:, [0, 1, 2 + k]] for k in range(sampled)])
    weights = np.tile(row_weights, sampled)

    with tf.GradientTape() as tape:
        pairs = np.concatenate([rows[:, :2], rows[:, ::2]])
        positive, negative = ops.split(ops.reshape(model(pairs), (-1,)), 2)
        loss = ops.mean(-ops.log_sigmoid(positive - negative) * weights) + sum(model.losses)
    expected = tape.gradient(loss, model.trainable_variables)
    closed_loss, closed = model.pairwise_gradients(tf.constant(grouped),
                                                   tf.constant(row_weights))  # fmt: skip

    assert float(closed_loss) == pytest.approx(float(loss), rel=1e-5)
    for variable, want, got in zip(model.trainable_variables, expected, closed, strict=True):
        want = tf.convert_to_tensor(want).numpy()
        if variable is model.user_bias.embeddings:
            assert got is None and np.abs(want).max() < 1e-7
            continue
        np.testing.assert_allclose(tf.convert_to_tensor(got).numpy(), want, atol=1e-7)
        assert np.abs(want).max() > 1e-4  # every other table has a gradient to compare


def _step(optimizer: TableOptimizer, table: keras.Variable, rows: np.ndarray,
          values: np.ndarray) -> None:  # fmt: skip
    """One compiled (XLA) step of `optimizer` on `table` with a row gradient."""

    @tf.function(jit_compile=True)
    def apply(indices: tf.Tensor, grads: tf.Tensor) -> None:
        shape = tf.constant(tuple(table.shape), tf.int64)
        optimizer.apply_gradients([(tf.IndexedSlices(grads, indices, shape), table)])

    apply(tf.constant(rows, tf.int32), tf.constant(values, tf.float32))


def test_big_tables_take_row_wise_adagrad_on_the_rows_a_step_touched() -> None:
    """A table with more rows than ROW_WISE_SHARE x the step's goes row-wise: a touched row
    adds the mean square of its gradient to its own sum and moves by the gradient over the
    sum's root; a row named twice adds both squares and moves by both gradients; a row with
    a zero gradient and every untouched row stay put. A smaller table stays on Keras' Adam,
    which moves a row on its stale momentum."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(40, 3)).astype(np.float32)
    big, small = keras.Variable(start.copy()), keras.Variable(start.copy())
    steps_rows = int(40 / ROW_WISE_SHARE)
    row_wise = TableOptimizer(0.01, [big], batch_rows=steps_rows - 1)
    dense = TableOptimizer(0.01, [small], batch_rows=steps_rows)
    assert list(row_wise.row_wise.values()) == [big] and not dense.row_wise
    rate = 0.01 * ROW_WISE_RATE

    first = rng.normal(size=(4, 3)).astype(np.float32)
    first[3] = 0.0
    _step(row_wise, big, np.array([5, 2, 5, 9]), first)
    sums = np.zeros(40)
    sums[5] = (first[0] ** 2).mean() + (first[2] ** 2).mean()
    sums[2] = (first[1] ** 2).mean()
    expected = start.copy()
    expected[5] -= rate * (first[0] + first[2]) / np.sqrt(sums[5])
    expected[2] -= rate * first[1] / np.sqrt(sums[2])
    np.testing.assert_allclose(big.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(row_wise.squares[id(big)].numpy(), sums, rtol=1e-5)

    second = rng.normal(size=(1, 3)).astype(np.float32)
    _step(row_wise, big, np.array([2]), second)
    sums[2] += (second[0] ** 2).mean()
    expected[2] -= rate * second[0] / np.sqrt(sums[2])
    np.testing.assert_allclose(big.numpy(), expected, rtol=1e-5, atol=1e-6)

    _step(dense, small, np.array([5]), first[:1])
    moved = small.numpy()
    _step(dense, small, np.array([7]), second)
    assert not np.allclose(small.numpy()[5], moved[5])  # Keras' Adam moved it again


def test_big_epochs_take_bigger_steps_small_ones_keep_the_batch() -> None:
    assert step_rows(760_000, 512) == 512  # ml-100k's bpr: 512 rows of 8 triples
    assert step_rows(17_500_000, 512) == -(-17_500_000 // MAX_STEPS)
    assert step_rows(10, 4096) == 4096


def test_an_epoch_in_parts_trains_in_whole_batches_across_the_parts() -> None:
    """Rows of a part that fill no batch open the next part, every part gives one item (no
    batch when it fills none), and only the epoch's last rows short of a batch are left."""
    parts = [(np.arange(a, b), np.arange(a, b) * 10) for a, b in ((0, 7), (7, 9), (9, 20))]
    batched = list(in_batches(iter(parts), 4))
    assert [len(rows) for rows, _ in batched] == [1, 1, 3]
    np.testing.assert_array_equal(np.concatenate([rows.reshape(-1) for rows, _ in batched]),
                                  np.arange(20))  # fmt: skip
    assert all((tens == rows * 10).all() for rows, tens in batched)
    assert batched[2][0].shape == (3, 4)


def test_parts_are_made_ahead_in_order() -> None:
    made: list[int] = []

    def parts():
        for index in range(3):
            made.append(index)
            yield index

    taken = []
    for item in prefetched(parts()):
        taken.append(item)
        if item == 0:  # the next part is on its way while this one is used
            for _ in range(1000):
                if len(made) == 2:
                    break
                time.sleep(0.01)
            assert made == [0, 1]
    assert taken == [0, 1, 2]
