"""Implicit matrix factorization: p_u . q_i + biases, binary cross-entropy on positives and
sampled negatives (the notebooks' implicit MF), fitted in Keras."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from training.models._implicit import SampledConfig
from training.models._sampled import SampledRecommender
from training.models.base import ExportedModel, register


class IMFConfig(SampledConfig):
    factors: int = Field(64, ge=1, le=1024)
    l2: float = Field(1e-2, ge=0, le=10, description="L2 weight on the batch's rows")


@register
class ImplicitMF(SampledRecommender):
    """P(interaction) = sigmoid(p_u . q_i + b_u + b_i); exported as logits ("dot")."""

    name = "imf"
    config_class = IMFConfig
    config: IMFConfig

    def build(self, n_users: int, n_items: int) -> Any:
        from training.models._keras import FactorModel

        cfg = self.config
        return FactorModel(n_users, n_items, cfg.factors, cfg.l2, seed=cfg.seed)

    def export_model(self, model: Any) -> ExportedModel:
        return ExportedModel("dot", model.tables())
