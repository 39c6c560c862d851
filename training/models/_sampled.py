"""The fit shared by the Keras models trained on sampled negatives (imf, bpr, gmf, mlp, neumf,
two-tower): positives, a validation split carved from training data, fresh negatives every
epoch, compiled train steps, early stopping on validation ndcg@10.

TensorFlow is imported inside the methods, only when a model is fitted.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Literal

import numpy as np

from training import distributed
from training.distributed import Shard, workers_scope
from training.models._epochs import Epoch
from training.models._implicit import (
    SampledConfig,
    ValidationRanker,
    carve_validation,
    positives,
    recency_weights,
    shuffled,
)
from training.models._pairwise_epochs import (
    DISLIKE_WEIGHT,
    SortedPositives,
    rows_sampler,
    triples_sampler,
)
from training.models.base import ExportedModel, FitHistory, Recommender
from training.sampling import positive_codes, sample_pairs
from training.vocab import EncodedInteractions

log = logging.getLogger(__name__)
FINISH_RATE = 0.2  # learning rate of the finishing epochs, as a share of the configured one


def _with_negatives(data: EncodedInteractions) -> EncodedInteractions:
    """The rows of users who left some item untouched: a user with every item has no
    negative to sample and nothing left to rank, so their rows teach a sampled loss nothing."""
    per_user = np.bincount(data.users, minlength=data.n_users)  # positives are distinct pairs
    saturated = per_user >= data.n_items
    if not saturated.any():
        return data
    log.info("leaving out %d users who interacted with every item", int(saturated.sum()))
    return data.subset(~saturated[data.users])


class SampledRecommender(Recommender):
    """Builds a Keras model and fits it on positives plus sampled negatives.

    `sampling` "pointwise" feeds ((user, item) pairs, 0/1 labels) to a binary cross-entropy on
    logits; "pairwise" feeds (user, positive, negative) triples to `pairwise_loss`. Each row's
    loss is weighted by its positive's recency weight.
    """

    config: SampledConfig
    sampling: ClassVar[Literal["pointwise", "pairwise"]] = "pointwise"
    # whether `batch_gradients` takes rows of a positive with all its sampled items, which
    # an epoch then gets when its steps would take more than `batch_size` (bpr)
    groups_sampled_items: ClassVar[bool] = False
    framework = "keras"

    @abstractmethod
    def build(self, n_users: int, n_items: int) -> Any:
        """A fresh, seeded Keras model of this family."""

    @abstractmethod
    def export_model(self, model: Any) -> ExportedModel:
        """The exported arrays of a fitted Keras model of this family."""

    def export(self) -> ExportedModel:
        return self.export_model(self.model)

    def keras_model(self) -> Any:
        return self.model

    def pairwise_loss(self, model: Any, triples: Any) -> tuple[Any, Any]:
        """(the loss of each (user, positive, sampled) triple; the model's penalty), for a
        pairwise model whose gradients are taken by autodiff (`batch_gradients`)."""
        raise NotImplementedError(f"{self.name} has no pairwise loss")

    def batch_loss(self, model: Any, batch: tuple[Any, ...]) -> Any:
        """One batch's mean weighted loss plus the model's penalty: binary cross-entropy on
        logits of (pairs, labels, weights), or `pairwise_loss` of (triples, weights)."""
        from keras import ops

        if self.sampling == "pairwise":
            per_triple, penalty = self.pairwise_loss(model, batch[0])
            return ops.mean(per_triple * batch[-1]) + penalty
        logits = ops.reshape(model(batch[0]), (-1,))
        per_row = ops.binary_crossentropy(batch[1], logits, from_logits=True)
        return ops.mean(per_row * batch[-1]) + sum(model.losses)

    def batch_gradients(self, model: Any, batch: tuple[Any, ...]) -> tuple[Any, list[Any]]:
        """One batch's loss and gradients for the model's trainable variables: autodiff of
        `batch_loss`, unless a model writes its gradients out (bpr)."""
        from training.models._keras_fit import taped

        return taped(self.batch_loss)(model, batch)

    def pair_scores(self, model: Any, triples: Any) -> tuple[Any, Any]:
        """(score(u, i), score(u, j)) of each triple, from one model call on both pairs."""
        from keras import ops

        pairs = ops.concatenate([triples[:, :2], triples[:, ::2]], axis=0)
        return ops.split(ops.reshape(model(pairs), (-1,)), 2)

    def fit(self, train: EncodedInteractions) -> FitHistory:
        """Fit in the workers' scope when this process is one of several (distributed.py)."""
        with workers_scope():
            return self.fit_here(train)

    def fit_here(self, train: EncodedInteractions) -> FitHistory:
        """The fit itself: one model over the positives, with early stopping."""
        data, fit_part, valid, rng = self.seeded_split(train)
        self.model = self.train_model(self.build(train.n_users, train.n_items), fit_part,
                                      valid, rng, self.name, finish_on=data)  # fmt: skip
        self._scorer = None
        return self.history

    def seeded_split(
        self, train: EncodedInteractions
    ) -> tuple[
        EncodedInteractions, EncodedInteractions, EncodedInteractions | None, np.random.Generator
    ]:
        """Seed Keras and numpy, then (positives, fit part, validation part or None, rng)."""
        import keras

        cfg = self.config
        keras.utils.set_random_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        data = _with_negatives(positives(train, cfg.rating_threshold))
        return data, *carve_validation(data, cfg.validation_fraction, rng), rng

    def epoch_sampler(
        self,
        data: EncodedInteractions,
        rng: np.random.Generator,
        shard: Shard | None = None,
        grouped: bool = False,
    ) -> Callable[[], Epoch]:
        """A function giving one epoch of shuffled training arrays from `data`, with fresh
        negatives each call: (pairs, labels, weights) or, pairwise, (triples, weights), in
        one part or, pairwise, one part per pass; `grouped` (pairwise), rows of a positive
        with all its sampled items instead of triples. With a `shard`, only its rows of
        `data` are sampled from (negatives still avoid every positive of the user, recency
        still weighs the user's whole history)."""
        cfg, n_items = self.config, data.n_items
        codes = positive_codes(data.users, data.items, n_items)
        # what stays the same every epoch; a sampled negative weighs what its positive weighs
        weights = recency_weights(data, cfg.recency)
        disliked = np.stack([data.negative_users, data.negative_items], axis=1)
        if shard is not None:
            rows = shard.rows(len(data))
            data, weights = data.subset(rows), weights[rows]
            disliked = disliked[shard.rows(len(disliked))]
        if self.sampling == "pairwise":
            sampler = rows_sampler if grouped else triples_sampler
            return sampler(SortedPositives.of(data, weights, disliked, codes), cfg.negatives, rng)
        repeated_weights = np.repeat(weights, cfg.negatives)
        dislikes = np.full(len(disliked), DISLIKE_WEIGHT, weights.dtype)
        pair_weights = np.concatenate([weights, repeated_weights, dislikes])

        def pairs_part() -> Iterator[tuple[np.ndarray, ...]]:
            users, items, labels = sample_pairs(
                data.users, data.items, n_items, cfg.negatives, rng, codes
            )
            users, items = np.r_[users, disliked[:, 0]], np.r_[items, disliked[:, 1]]
            labels = np.r_[labels, np.zeros(len(disliked), labels.dtype)]
            pairs = np.stack([users, items], axis=1).astype(np.int32)
            yield shuffled(rng, pairs, labels, pair_weights)

        return lambda: Epoch(len(pair_weights), pairs_part())

    def train_model(
        self,
        model: Any,
        fit_part: EncodedInteractions,
        valid: EncodedInteractions | None,
        rng: np.random.Generator,
        name: str,
        finish_on: EncodedInteractions | None = None,
    ) -> Any:
        """Fit `model` with this config's epochs, batches and early stopping, then (with a
        validation split and `finish_on`) `finish_epochs` more over `finish_on`; return it.
        An epoch whose steps would take more than `batch_size` is grouped (rows of a positive
        with all its sampled items) when the model takes such rows."""
        from training.models._keras_fit import Finish, fit_epochs, step_rows

        cfg, workers = self.config, distributed.active()
        big = step_rows(len(fit_part) * cfg.negatives, cfg.batch_size) > cfg.batch_size
        grouped = self.sampling == "pairwise" and self.groups_sampled_items and big
        model(np.zeros((1, 2), np.int32))
        shard, batch_size, sample_rng = None, cfg.batch_size, rng
        if workers is not None:  # a global batch of batch_size; negatives of its own per worker
            shard, batch_size = workers.shard, cfg.batch_size // workers.shard.num_workers
            sample_rng = np.random.default_rng([int(rng.integers(2**63)), shard.index])

        ranker = None if valid is None else ValidationRanker(fit_part, valid, rng)
        finish = None
        if ranker is not None and finish_on is not None:
            finish = Finish(self.epoch_sampler(finish_on, sample_rng, shard, grouped),
                            cfg.finish_epochs, FINISH_RATE)  # fmt: skip
        fit_epochs(
            model, self.batch_gradients,
            self.epoch_sampler(fit_part, sample_rng, shard, grouped),
            None if ranker is None else lambda: ranker(self.export_model(model).scorer()),
            name=name, epochs=cfg.epochs, batch_size=batch_size,
            learning_rate=cfg.learning_rate, patience=cfg.patience, history=self.history.epochs,
            finish=finish, workers=workers,
        )  # fmt: skip
        return model
