"""Implicit matrix factorization: p_u . q_i + biases, binary cross-entropy on positives and
sampled negatives (the notebooks' implicit MF), fitted in Keras."""

from __future__ import annotations

from typing import Any

from training.models._fold_in import FoldInSampled
from training.models._implicit import FactorSampledConfig
from training.models.base import ExportedModel, register


class IMFConfig(FactorSampledConfig):
    """Hyperparameters of imf (its own class, so its JSON schema and name stay distinct)."""


@register
class ImplicitMF(FoldInSampled):
    """P(interaction) = sigmoid(p_u . q_i + b_u + b_i); exported as logits ("dot")."""

    name = "imf"
    config_class = IMFConfig
    config: IMFConfig

    def build(self, n_users: int, n_items: int) -> Any:
        from training.models._keras import FactorModel

        cfg = self.config
        return FactorModel(n_users, n_items, cfg.factors, cfg.l2, seed=cfg.seed)

    def export_model(self, model: Any) -> ExportedModel:
        params = {"objective": "logistic", **self.fold_in_params()}
        return ExportedModel("dot", model.tables(), params)
