"""The embedding models' optimizer: Keras' Adam, except on big embedding tables, which take
row-wise Adagrad on the rows each step touched.

A dense Adam step over a 300,000-row user table reads and writes every row and both of its
moment slots, whatever the batch; Adam on the touched rows alone needs them deduplicated
first, and that sort was a fifth of bpr's step at 20M interactions. Row-wise Adagrad (one
accumulator per row, as FBGEMM and TorchRec train big embedding tables) needs neither. Tables
with more rows than `ROW_WISE_SHARE` x a step's rows go row-wise: the 300,000 users and
60,000 items of a 20M log; every table of ml-100k stays on Keras' Adam.

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import tensorflow as tf

ROW_WISE_SHARE = 0.5
# the row-wise learning rate as a multiple of Adam's: at 30, bpr, imf, neumf and two-tower
# with every table row-wise matched their ml-100k ndcg@10 under Adam (benchmarks/RESULTS.md)
ROW_WISE_RATE = 30.0
TINY = 1e-30  # keeps a row whose gradients were all zero where it is


class TableOptimizer:
    """Keras' Adam for most variables; row-wise Adagrad for the 2-D tables with more than
    `ROW_WISE_SHARE` x `batch_rows` rows (None: no table is row-wise, as across workers,
    whose gradients the strategy sums densely)."""

    def __init__(self, learning_rate: float, variables: list[Any], batch_rows: int | None):
        def is_row_wise(variable: Any) -> bool:
            shape = tuple(variable.shape)
            return (batch_rows is not None and len(shape) == 2
                    and shape[0] > ROW_WISE_SHARE * batch_rows)  # fmt: skip

        self.adam = keras.optimizers.Adam(learning_rate)
        self.row_wise = {id(v): v for v in variables if is_row_wise(v)}
        self.adam.build([v for v in variables if id(v) not in self.row_wise])
        self.squares = {
            key: tf.Variable(tf.zeros(v.shape[:1]), trainable=False)
            for key, v in self.row_wise.items()
        }

    @property
    def learning_rate(self) -> Any:
        """Adam's learning rate variable; the row-wise rate follows it (finishing epochs)."""
        return self.adam.learning_rate

    def apply_gradients(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """One step for every (gradient, variable) whose gradient is not None."""
        pairs = [(g, v) for g, v in pairs if g is not None]
        dense = [(g, v) for g, v in pairs if id(v) not in self.row_wise]
        if dense:
            self.adam.apply_gradients(dense)
        for gradient, variable in pairs:
            if id(variable) in self.row_wise:
                self._update_rows(gradient, variable)

    def _update_rows(self, gradient: Any, variable: Any) -> None:
        """Row-wise Adagrad on the rows of `gradient` (an IndexedSlices; a dense one names
        every row): each row adds the mean square of its gradient to its accumulator, then
        moves by its gradient over the accumulator's root. A row named n times in a step
        adds n squares and moves by the sum of its n gradients, with no sort to merge them;
        with up to 16,384 triples a step on ml-100k this learned at least as well as Adam."""
        if not isinstance(gradient, tf.IndexedSlices):
            gradient = tf.IndexedSlices(gradient, tf.range(tf.shape(gradient)[0]))
        rows, values = gradient.indices, gradient.values
        squares = self.squares[id(variable)]
        squares.scatter_add(tf.IndexedSlices(tf.reduce_mean(values * values, axis=1), rows))
        rate = tf.cast(self.learning_rate, tf.float32) * ROW_WISE_RATE
        scale = rate * tf.math.rsqrt(tf.gather(squares, rows) + TINY)
        table = variable.value if isinstance(variable, keras.Variable) else variable
        table.scatter_add(tf.IndexedSlices(-scale[:, None] * values, rows))
