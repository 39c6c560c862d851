"""The fit shared by the Keras models trained on sampled negatives (imf, bpr, gmf, mlp, neumf,
two-tower): positives, a validation split carved from training data, fresh negatives every
epoch, compiled train steps, early stopping on validation ndcg@10.

TensorFlow is imported inside the methods, only when a model is fitted.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np

from training.models._implicit import (
    SampledConfig,
    ValidationRanker,
    carve_validation,
    positives,
    recency_weights,
    shuffled,
)
from training.models.base import ExportedModel, FitHistory, Recommender
from training.sampling import positive_codes, sample_negatives, sample_pairs
from training.vocab import EncodedInteractions


class SampledRecommender(Recommender):
    """Builds a Keras model and fits it on positives plus sampled negatives.

    `sampling` "pointwise" feeds ((user, item) pairs, 0/1 labels) to a binary cross-entropy on
    logits; "pairwise" feeds (user, positive, negative) triples to `pairwise_loss`. Each row's
    loss is weighted by its positive's recency weight.
    """

    config: SampledConfig
    sampling: ClassVar[Literal["pointwise", "pairwise"]] = "pointwise"
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

    def pairwise_loss(self, model: Any, triples: Any) -> Any:
        """Per triple, BPR's -log sigmoid(score(u, i) - score(u, j)), from one model call on
        the stacked pairs."""
        from keras import ops

        pairs = ops.concatenate([triples[:, :2], triples[:, ::2]], axis=0)
        positive, negative = ops.split(ops.reshape(model(pairs), (-1,)), 2)
        return -ops.log_sigmoid(positive - negative)

    def fit(self, train: EncodedInteractions) -> FitHistory:
        import keras

        cfg = self.config
        keras.utils.set_random_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        fit_part, valid = carve_validation(
            positives(train, cfg.rating_threshold), cfg.validation_fraction, rng
        )
        self.model = self.train_model(self.build(train.n_users, train.n_items), fit_part,
                                      valid, rng, self.name)  # fmt: skip
        self._scorer = None
        return self.history

    def train_model(
        self,
        model: Any,
        fit_part: EncodedInteractions,
        valid: EncodedInteractions | None,
        rng: np.random.Generator,
        name: str,
    ) -> Any:
        """Fit `model` with this config's epochs, batches and early stopping; return it."""
        import keras

        from training.models._keras import fit_epochs

        cfg = self.config
        n_items = fit_part.n_items
        model(np.zeros((1, 2), np.int32))
        codes = positive_codes(fit_part.users, fit_part.items, n_items)
        weights = recency_weights(fit_part, cfg.recency)

        def epoch_data() -> tuple[np.ndarray, ...]:
            if self.sampling == "pairwise":
                users = np.repeat(fit_part.users, cfg.negatives)
                chosen = np.repeat(fit_part.items, cfg.negatives)
                other = sample_negatives(users, n_items, codes, rng)
                triples = np.stack([users, chosen, other], axis=1).astype(np.int32)
                return shuffled(rng, triples, np.repeat(weights, cfg.negatives))
            users, items, labels = sample_pairs(
                fit_part.users, fit_part.items, n_items, cfg.negatives, rng
            )
            pairs = np.stack([users, items], axis=1).astype(np.int32)
            # a sampled negative weighs what the positive it was drawn for weighs
            pair_weights = np.concatenate([weights, np.repeat(weights, cfg.negatives)])
            return shuffled(rng, pairs, labels, pair_weights)

        def loss(model: keras.Model, batch: tuple) -> Any:
            if self.sampling == "pairwise":
                per_row = self.pairwise_loss(model, batch[0])
            else:
                logits = keras.ops.reshape(model(batch[0]), (-1,))
                per_row = keras.ops.binary_crossentropy(batch[1], logits, from_logits=True)
            return keras.ops.mean(per_row * batch[-1]) + sum(model.losses)

        ranker = None if valid is None else ValidationRanker(fit_part, valid, rng)
        fit_epochs(
            model, loss, epoch_data,
            None if ranker is None else lambda: ranker(self.export_model(model).scorer()),
            name=name, epochs=cfg.epochs, batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, patience=cfg.patience, history=self.history.epochs,
        )  # fmt: skip
        return model
