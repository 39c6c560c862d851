"""An epoch's training arrays as parts made one at a time, regrouped into whole batches, and
made ahead in a thread so that sampling the next part overlaps training on this one.

At 20M interactions bpr's epoch is 140M triples: sampling them all before the first step
took 24 s of a 2-core machine while TensorFlow waited, and 2.2 GB. A part at a time (one
pass over the positives), sampled while the last trains, costs neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

Item = TypeVar("Item")


@dataclass(frozen=True)
class Epoch:
    """One epoch of training arrays (rows, ...) with `rows` rows in all, as consecutive
    `parts`, each a tuple of same-length arrays; a lazy iterator, so that a part is
    sampled only when it is asked for. Each row stands for `group` training examples (a
    positive with all its sampled items, for bpr at scale)."""

    rows: int
    parts: Iterator[tuple[np.ndarray, ...]]
    group: int = 1


def in_batches(
    parts: Iterator[tuple[np.ndarray, ...]], size: int
) -> Iterator[tuple[np.ndarray, ...]]:
    """Each part as whole batches, its arrays shaped (batches, size, ...): the rows of a part
    that fill no batch open the next part; those left at the end are dropped. One item per
    part, with no batch when a part fills none, so that workers stay in step."""
    carried: tuple[np.ndarray, ...] | None = None
    for part in parts:
        if carried is not None and len(carried[0]):
            part = tuple(np.concatenate(pair) for pair in zip(carried, part, strict=True))
        n = len(part[0]) // size
        carried = tuple(a[n * size :] for a in part)
        yield tuple(a[: n * size].reshape(n, size, *a.shape[1:]) for a in part)


def prefetched(items: Iterator[Item]) -> Iterator[Item]:
    """`items`, each made in a thread while the caller works on the one before it (numpy
    releases the GIL in its array work, TensorFlow while a graph runs)."""
    with ThreadPoolExecutor(1, thread_name_prefix="epoch-parts") as thread:
        upcoming = thread.submit(next, items, None)
        while (item := upcoming.result()) is not None:
            upcoming = thread.submit(next, items, None)
            yield item
