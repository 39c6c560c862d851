"""The Keras training loop of the embedding models and its callbacks: one progress line per
epoch, a numpy validation figure, early stopping and finishing epochs.

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from tqdm import tqdm

from training.distributed import Workers
from training.models._epochs import Epoch, in_batches, prefetched

log = logging.getLogger(__name__)
MAX_STEPS = 2048  # steps an epoch takes at most; bigger epochs take bigger batches


class EpochProgress(keras.callbacks.Callback):
    """One log line and one progress-bar step per epoch; records the history."""

    def __init__(self, epochs: int, name: str, history: list[dict[str, float]]) -> None:
        super().__init__()
        self.bar = tqdm(total=epochs, desc=name, unit="epoch", leave=False)
        self.history = history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        figures = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        self.history.append(figures)
        line = " ".join(f"{k}={v:.4f}" for k, v in figures.items())
        log.info("epoch=%d %s", epoch + 1, line)
        self.bar.set_postfix_str(line)
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


class ValidationFigure(keras.callbacks.Callback):
    """Puts `measure()` into each epoch's logs as `name`, for the callbacks after it: a numpy
    measure on the exported tables costs far less per epoch than Keras' validation pass."""

    def __init__(self, name: str, measure: Callable[[], float]) -> None:
        super().__init__()
        self.name, self.measure = name, measure

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs[self.name] = self.measure()


LossFn = Callable[[keras.Model, tuple[Any, ...]], Any]
# (model, batch) -> (the batch's scalar loss, its gradients for model.trainable_variables;
# None for a variable the batch leaves alone)
GradientsFn = Callable[[keras.Model, tuple[Any, ...]], tuple[Any, list[Any]]]


def taped(loss_fn: LossFn) -> GradientsFn:
    """The gradients of `loss_fn(model, batch)` (regularisation included) by autodiff."""
    import tensorflow as tf

    def gradients(model: keras.Model, batch: tuple[Any, ...]) -> tuple[Any, list[Any]]:
        with tf.GradientTape() as tape:
            loss = loss_fn(model, batch)
        return loss, tape.gradient(loss, model.trainable_variables)

    return gradients


@dataclass(frozen=True)
class Finish:
    """Epochs after early stopping over data that includes the validation rows, at a fraction
    of the learning rate, continuing the same optimizer: no training row is left unused."""

    epoch_data: Callable[[], Epoch]
    epochs: int
    learning_rate_factor: float


def fit_epochs(
    model: keras.Model,
    gradients_fn: GradientsFn,
    epoch_data: Callable[[], Epoch],
    validate: Callable[[], float] | None,
    *,
    name: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    history: list[dict[str, float]],
    finish: Finish | None = None,
    workers: Workers | None = None,
) -> None:
    """Adam (row-wise Adagrad on big tables: `TableOptimizer`) over a fresh `epoch_data()`
    each epoch, `step_rows` rows a step (each part of the epoch sampled in a thread while the
    one before it trains), then `validate()` (higher is better) for early stopping, keeping
    the best weights; then `finish`, if given, trains on with the same optimizer.
    `gradients_fn(model, batch)` gives one batch's loss and gradients (`taped` for autodiff).

    The train step is XLA-compiled (a fifth faster than a plain graph on 2 CPU cores) and an
    epoch's loop over batches runs in one graph call, which saves the per-step Python dispatch
    (a quarter of an epoch's time for neumf on ml-100k).

    With `workers`, each worker runs this on its own shard's arrays in step with the others
    (call it inside their strategy's scope): each step's gradients are summed across workers,
    each worker's batch loss divided by their number, so that `batch_size` per worker times
    the workers is one global batch of the same mean loss; the number of batches per epoch is
    the smallest shard's, the validation figure the workers' mean.
    """
    import tensorflow as tf

    from training.models._table_optimizer import TableOptimizer

    pending = [epoch_data()]  # the first epoch's rows size the steps and the optimizer
    group = pending[0].group  # `batch_size` counts examples; a row holds `group` of them
    examples = step_rows(pending[0].rows * group, batch_size, workers)
    batch_size = max(1, examples // group)
    optimizer = TableOptimizer(learning_rate, model.trainable_variables,
                               None if workers is not None else examples)  # fmt: skip
    scale = 1.0 if workers is None else 1.0 / workers.shard.num_workers

    def gradients(*batch: Any) -> tuple[Any, Any]:
        loss, grads = gradients_fn(model, batch)
        if workers is not None:
            rows, variables = examples * workers.shard.num_workers, model.trainable_variables
            grads = [_to_send(g, v, rows, scale) for g, v in zip(grads, variables, strict=True)]
        return loss * scale, grads

    def apply(compute: Callable[..., tuple[Any, Any]], batch: tuple[Any, ...]) -> Any:
        loss, grads = compute(*batch)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    compiled = tf.function(gradients, jit_compile=True)

    def step(*batch: Any) -> Any:
        """One batch: compiled whole on one process; across workers, the gradients' sum
        (a collective) stays outside XLA."""
        if workers is None:
            return single_step(*batch)
        return workers.run_summed(lambda *b: apply(compiled, b), batch)

    single_step = tf.function(lambda *batch: apply(gradients, batch), jit_compile=True)

    @tf.function(reduce_retracing=True)
    def epoch_graph(*batches: Any) -> Any:
        """The compiled step over each (batch, ...) slice in turn; the mean batch loss."""
        total = tf.constant(0.0)
        n_batches = tf.shape(batches[0])[0]
        for index in tf.range(n_batches):
            total += step(*(b[index] for b in batches))
        return total / tf.cast(n_batches, tf.float32)

    def run_epoch(epoch: Epoch) -> float:
        """The epoch in whole batches (one compiled shape; rows are reshuffled every epoch),
        one graph call a part; returns the mean batch loss."""
        size = max(1, min(batch_size, epoch.rows))
        total, steps = 0.0, 0
        for batches in prefetched(in_batches(epoch.parts, size)):
            n_batches = len(batches[0])
            if workers is not None:
                n_batches = int(workers.gather(n_batches).min())
            if n_batches:
                total += float(epoch_graph(*(b[:n_batches] for b in batches))) * n_batches
                steps += n_batches
        return total / steps if steps else 0.0

    progress = EpochProgress(epochs, name, history)
    best, best_weights, waited = -np.inf, None, 0
    for epoch in range(epochs):
        figures = {"loss": run_epoch(pending.pop() if pending else epoch_data())}
        if validate is not None:
            figures["val_ndcg@10"] = validate()
            if workers is not None:
                figures["val_ndcg@10"] = float(workers.gather(figures["val_ndcg@10"]).mean())
        progress.on_epoch_end(epoch, figures)
        if validate is None:
            continue
        if figures["val_ndcg@10"] > best:
            best, best_weights, waited = figures["val_ndcg@10"], model.get_weights(), 0
        else:
            waited += 1
            if waited > patience:
                break
    progress.on_train_end()
    if best_weights is not None:
        model.set_weights(best_weights)
    if finish is not None and finish.epochs > 0:
        optimizer.learning_rate.assign(learning_rate * finish.learning_rate_factor)
        for epoch in range(finish.epochs):
            log.info(
                "%s finish epoch=%d loss=%.4f", name, epoch + 1, run_epoch(finish.epoch_data())
            )


def step_rows(epoch_rows: int, batch_size: int, workers: Workers | None = None) -> int:
    """Rows a step takes: `batch_size`, or more when an epoch would otherwise take over
    `MAX_STEPS` steps. A step has a fixed cost (a dense update of every small table, the
    graph's dispatch), which at 20M interactions was most of an epoch's time. Across
    workers, from the smallest shard, so that every worker steps with the same shapes."""
    if workers is not None:
        epoch_rows = int(workers.gather(epoch_rows).min())
    return max(1, batch_size, -(-epoch_rows // MAX_STEPS))


def _to_send(grad: Any, variable: Any, batch_rows: int, scale: float) -> Any:
    """A worker's share (`scale`) of a gradient, to be summed across workers. An embedding's
    gradient (its batch rows) is made dense when the table has no more rows than all
    workers' batches together (`batch_rows`): one dense sum then sends less than gathering
    every worker's rows (ml-100k: half the epoch time); a large table's rows are gathered."""
    import tensorflow as tf

    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        if variable.shape[0] <= batch_rows:
            return tf.convert_to_tensor(grad) * scale
        return tf.IndexedSlices(grad.values * scale, grad.indices, grad.dense_shape)
    return grad * scale
