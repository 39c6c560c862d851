"""Adam that updates a big embedding table only in the rows a step touched ("lazy" Adam).

A dense Adam step over a 300,000-row user table reads and writes every row and both of its
moment slots, whatever the batch: at 20M interactions that, not the batch, was the cost of a
step. Tables with more than `LAZY_SHARE` rows per batch row are updated row-wise; smaller ones
(every table of ml-100k) take Keras' Adam unchanged.

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import tensorflow as tf

LAZY_SHARE = 2


class RowAdam:
    """Keras' Adam for most variables; Adam's same update, only on the rows a step's gradient
    names, for the 2-D tables with more than `LAZY_SHARE` x `batch_rows` rows (None: no
    table is row-wise, as across workers, whose gradients the strategy sums densely)."""

    def __init__(self, learning_rate: float, variables: list[Any], batch_rows: int | None):
        def is_lazy(variable: Any) -> bool:
            shape = tuple(variable.shape)
            return batch_rows is not None and len(shape) == 2 and shape[0] > LAZY_SHARE * batch_rows

        self.adam = keras.optimizers.Adam(learning_rate)
        self.lazy = {id(v): v for v in variables if is_lazy(v)}
        self.adam.build([v for v in variables if id(v) not in self.lazy])
        self.slots = {
            key: (tf.Variable(tf.zeros(v.shape), trainable=False),
                  tf.Variable(tf.zeros(v.shape), trainable=False))
            for key, v in self.lazy.items()
        }  # fmt: skip
        self.steps = tf.Variable(0.0, trainable=False) if self.lazy else None

    @property
    def learning_rate(self) -> Any:
        """The learning rate variable, shared by both kinds of update."""
        return self.adam.learning_rate

    def apply_gradients(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """One Adam step for every (gradient, variable) whose gradient is not None."""
        pairs = [(g, v) for g, v in pairs if g is not None]
        dense = [(g, v) for g, v in pairs if id(v) not in self.lazy]
        if dense:
            self.adam.apply_gradients(dense)
        if self.steps is None:
            return
        self.steps.assign_add(1.0)
        for gradient, variable in pairs:
            if id(variable) in self.lazy:
                self._update_rows(gradient, variable)

    def _update_rows(self, gradient: Any, variable: Any) -> None:
        """Adam on the distinct rows of `gradient` (an IndexedSlices; a dense one touches
        every row), their duplicates summed first. Found by a sort, not tf.unique, so that
        the step still compiles with XLA: the k distinct rows come first, the rest of the n
        slots get index 0 and a zero change."""
        m, v = self.slots[id(variable)]
        if not isinstance(gradient, tf.IndexedSlices):
            gradient = tf.IndexedSlices(gradient, tf.range(tf.shape(gradient)[0]))
        indices, n = gradient.indices, tf.shape(gradient.indices)[0]
        order = tf.argsort(indices)
        ordered = tf.gather(indices, order)
        starts = tf.concat([[True], ordered[1:] != ordered[:-1]], 0)
        slot = tf.cumsum(tf.cast(starts, tf.int32)) - 1
        summed = tf.math.unsorted_segment_sum(tf.gather(gradient.values, order), slot, n)
        used = tf.range(n) <= slot[-1]
        rows = tf.where(used, tf.math.unsorted_segment_max(ordered, slot, n), 0)

        beta_1, beta_2 = self.adam.beta_1, self.adam.beta_2
        lr = tf.cast(self.learning_rate, tf.float32)
        alpha = lr * tf.sqrt(1 - beta_2**self.steps) / (1 - beta_1**self.steps)
        old_m, old_v = tf.gather(m, rows), tf.gather(v, rows)
        new_m = old_m + (summed - old_m) * (1 - beta_1)
        new_v = old_v + (tf.square(summed) - old_v) * (1 - beta_2)
        keep = used[:, None]

        def add(target: Any, change: Any) -> None:
            table = target.value if isinstance(target, keras.Variable) else target
            table.scatter_add(tf.IndexedSlices(tf.where(keep, change, 0.0), rows))

        add(m, new_m - old_m)
        add(v, new_v - old_v)
        add(variable, -alpha * new_m / (tf.sqrt(new_v) + self.adam.epsilon))
