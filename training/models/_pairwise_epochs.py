"""The epochs of the pairwise models (bpr, two-tower): `negatives` shuffled passes of
(user, positive, sampled item) triples, or, for bpr at scale, the same triples grouped into
one row per positive; each part sampled while the last trains (training/models/_epochs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from training.models._epochs import Epoch
from training.sampling import sample_negatives
from training.vocab import EncodedInteractions

# an explicit negative (a dislike) is one label-0 row (pointwise) or one triple against a
# random positive of the user (pairwise) per epoch, weighing what an unweighted positive does;
# fold-in holds the same term (app/serving/scorers/base.py DISLIKE_WEIGHT)
DISLIKE_WEIGHT = 1.0


@dataclass(frozen=True)
class SortedPositives:
    """What both pairwise epochs draw from: the positives in user order (a big grid's
    membership test needs its queries so, training/sampling.py) with their recency weights,
    the dislikes' triples, and the pair codes a sampled item must avoid."""

    users: np.ndarray
    chosen: np.ndarray
    weights: np.ndarray
    n_items: int
    codes: np.ndarray
    n_dislikes: int
    dislike_triples: Callable[[np.random.Generator], np.ndarray]

    @classmethod
    def of(
        cls, data: EncodedInteractions, weights: np.ndarray, disliked: np.ndarray,
        codes: np.ndarray,
    ) -> SortedPositives:  # fmt: skip
        """`data`'s positives, their `weights` and the (user, item) `disliked` pairs."""
        order = np.argsort(data.users, kind="stable")
        users, chosen = data.users[order], data.items[order]
        n_dislikes, dislike_triples = _dislike_triples(users, chosen, disliked)
        return cls(users, chosen, weights[order].astype(np.float32), data.n_items, codes,
                   n_dislikes, dislike_triples)  # fmt: skip

    def sampled(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item per entry of `users` (in user order) that the user has no positive for."""
        return sample_negatives(users, self.n_items, self.codes, rng)


def triples_sampler(
    positives: SortedPositives, negatives: int, rng: np.random.Generator
) -> Callable[[], Epoch]:
    """A function giving one epoch of shuffled (triples, weights): `negatives` triples (user,
    positive, a fresh sampled item) per positive, and one (user, a positive of theirs,
    disliked item) of DISLIKE_WEIGHT per dislike.

    The epoch is `negatives` passes over the positives, each in its own random order with
    its own sampled items (the dislikes join the first), rather than one shuffle of every
    triple: a batch still holds triples of distinct positives, as a full shuffle's nearly
    do, for a fraction of the cost at 20M (140M triples: 45 s a shuffle). Each pass is a
    part of the epoch, sampled while the one before it trains."""
    n, n_dislikes = len(positives.users), positives.n_dislikes
    triples = np.empty((n + n_dislikes, 3), np.int32)
    triples[:n, 0], triples[:n, 1] = positives.users, positives.chosen
    triple_weights = np.r_[positives.weights, np.full(n_dislikes, DISLIKE_WEIGHT, np.float32)]

    def passes() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for k in range(negatives):
            triples[:n, 2] = positives.sampled(positives.users, rng)
            if k == 0:
                triples[n:] = positives.dislike_triples(rng)
            order = rng.permutation(len(triples) if k == 0 else n)
            # np.take, not fancy indexing: twice as fast for these sizes
            yield np.take(triples, order, axis=0), np.take(triple_weights, order)

    return lambda: Epoch(negatives * n + n_dislikes, passes())


def rows_sampler(
    positives: SortedPositives, negatives: int, rng: np.random.Generator
) -> Callable[[], Epoch]:
    """A function giving one epoch of shuffled (rows, weights) holding `triples_sampler`'s
    triples grouped: each positive once, as (user, positive, `negatives` fresh sampled
    items), and each dislike as (user, a positive of theirs, the disliked item `negatives`
    times) at 1/`negatives` of DISLIKE_WEIGHT, so that every triple weighs what it weighs
    there. A row's user and positive are then looked up once for its `negatives` triples:
    at 20M interactions a step took two thirds of the time. The positives come in
    `negatives` parts of one random order, each sampled while the last trains."""
    dislike_weights = np.full(positives.n_dislikes, DISLIKE_WEIGHT / negatives, np.float32)
    n = len(positives.users)

    def parts() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for k, part in enumerate(np.array_split(rng.permutation(n), negatives)):
            picked = np.sort(part)  # in user order, as the membership test needs
            rows = np.empty((len(picked), 2 + negatives), np.int32)
            rows[:, 0], rows[:, 1] = positives.users[picked], positives.chosen[picked]
            for column in range(2, 2 + negatives):
                rows[:, column] = positives.sampled(rows[:, 0], rng)
            part_weights = positives.weights[picked]
            if k == 0 and positives.n_dislikes:
                disliking = positives.dislike_triples(rng)
                repeated = np.repeat(disliking[:, 2:], negatives, axis=1)
                rows = np.concatenate([rows, np.hstack([disliking[:, :2], repeated])])
                part_weights = np.r_[part_weights, dislike_weights]
            shuffle = rng.permutation(len(rows))
            yield np.take(rows, shuffle, axis=0), np.take(part_weights, shuffle)

    return lambda: Epoch(n + positives.n_dislikes, parts(), group=negatives)


def _dislike_triples(
    users: np.ndarray, by_user: np.ndarray, disliked: np.ndarray
) -> tuple[int, Callable[[np.random.Generator], np.ndarray]]:
    """(how many, a function giving one epoch's (user, positive, disliked) triples) from the
    positives (`users`, sorted, and their items `by_user`): each dislike against a positive
    of its user drawn afresh (users with no positive here have none)."""
    if not len(disliked):
        return 0, lambda rng: np.empty((0, 3), np.int32)
    starts = np.searchsorted(users, disliked[:, 0], side="left")
    counts = np.searchsorted(users, disliked[:, 0], side="right") - starts
    held = disliked[counts > 0]
    starts, counts = starts[counts > 0], counts[counts > 0]

    def epoch(rng: np.random.Generator) -> np.ndarray:
        positive = by_user[starts + (rng.random(len(held)) * counts).astype(np.int64)]
        return np.stack([held[:, 0], positive, held[:, 1]], axis=1).astype(np.int32)

    return len(held), epoch
