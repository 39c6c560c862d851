"""Bayesian Personalized Ranking: a user should score an item they chose above a sampled one
(pairwise log-sigmoid loss on p_u . (q_i - q_j) + b_i - b_j), fitted in Keras."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from training.models._fold_in import FoldInSampled
from training.models._implicit import FactorSampledConfig
from training.models.base import ExportedModel, register


class BPRConfig(FactorSampledConfig):
    """Hyperparameters of bpr: 8 sampled items per positive and L2 0.02 won on validation
    ndcg@10 (see benchmarks/RESULTS.md)."""

    negatives: int = Field(8, ge=1, le=100, description="sampled negatives per positive")
    l2: float = Field(2e-2, ge=0, le=10, description="L2 weight on the batch's rows")


@register
class BPR(FoldInSampled):
    """score(u, i) = p_u . q_i + b_i, trained on (user, positive, sampled negative) triples."""

    name = "bpr"
    config_class = BPRConfig
    config: BPRConfig
    sampling = "pairwise"
    groups_sampled_items = True

    def build(self, n_users: int, n_items: int) -> Any:
        from training.models._keras import FactorModel

        cfg = self.config
        return FactorModel(n_users, n_items, cfg.factors, cfg.l2, seed=cfg.seed)

    def batch_gradients(self, model: Any, batch: tuple[Any, ...]) -> tuple[Any, list[Any]]:
        """Written out (`FactorModel.pairwise_gradients`) for a batch of (triples or rows of
        a positive with its sampled items, weights): autodiff's were most of an epoch's time
        at 20M interactions."""
        return model.pairwise_gradients(batch[0], batch[-1])

    def export_model(self, model: Any) -> ExportedModel:
        tables = model.tables()
        del tables["user_bias"]  # cancels out of every pairwise difference
        return ExportedModel("dot", tables, {"objective": "bpr", **self.fold_in_params()})
