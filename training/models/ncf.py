"""Neural collaborative filtering (He et al. 2017): GMF, MLP and NeuMF, trained with binary
cross-entropy on positives and sampled negatives; NeuMF can start from trained GMF and MLP
weights, as in the paper."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from training.models._fold_in import FoldInSampled
from training.models._implicit import SampledConfig
from training.models.base import ExportedModel, FitHistory, register
from training.vocab import EncodedInteractions

Layers = tuple[int, ...]
L2_HELP = "L2 weight on the batch's embedding rows (mean) and on the dense kernels"
LAYERS_HELP = "width of the concatenated embeddings, then of each dense ReLU layer"
PRETRAIN_HELP = (
    "gmf: train the GMF part alone first, then the MLP joins it (output weights 0) and all "
    "trains on; gmf+mlp: start from separately trained GMF and MLP, as in the paper; "
    "none: every part from random weights at once"
)


class GMFConfig(SampledConfig):
    factors: int = Field(64, ge=1, le=1024)
    l2: float = Field(1e-2, ge=0, le=10, description=L2_HELP)


class MLPConfig(SampledConfig):
    layers: Layers = Field((64, 32, 16), min_length=2, max_length=6, description=LAYERS_HELP)
    l2: float = Field(1e-2, ge=0, le=10, description=L2_HELP)


class NeuMFConfig(SampledConfig):
    """The MLP beside the GMF part is narrower than mlp's own: (32, 16, 8) tied (64, 32, 16) on
    random-split validation, won next-item validation by 0.03 hr@10 and fits in two thirds of
    the time. Pretraining the GMF part first beat training all parts at once on both
    validations: trained together, the MLP fits the data sooner and early stopping ends the
    fit before the GMF part has learnt what it can (see benchmarks/RESULTS.md)."""

    factors: int = Field(64, ge=1, le=1024, description="GMF embedding width")
    layers: Layers = Field((32, 16, 8), min_length=2, max_length=6, description=LAYERS_HELP)
    l2: float = Field(1e-2, ge=0, le=10, description=L2_HELP)
    pretrain: Literal["gmf", "gmf+mlp", "none"] = Field("gmf", description=PRETRAIN_HELP)
    alpha: float = Field(0.5, ge=0, le=1, description="GMF share of the gmf+mlp output")

    @field_validator("pretrain", mode="before")
    @classmethod
    def _boolean_pretrain(cls, value: Any) -> Any:
        """Earlier configs said pretrain true (the paper's gmf+mlp) or false (none)."""
        if isinstance(value, bool):
            return "gmf+mlp" if value else "none"
        return value


def _ncf_model(n_users: int, n_items: int, factors: int, layers: Layers, cfg: Any) -> Any:
    from training.models._keras_ncf import NCFModel

    return NCFModel(n_users, n_items, factors, list(layers), cfg.l2, seed=cfg.seed)


@register
class GMF(FoldInSampled):
    """logit = h . (p_u * q_i) + b_i + b, exported as a dot product (p_u * h) . q_i + b_i + b."""

    name = "gmf"
    config_class = GMFConfig
    config: GMFConfig

    def build(self, n_users: int, n_items: int) -> Any:
        return _ncf_model(n_users, n_items, self.config.factors, (), self.config)

    def export_model(self, model: Any) -> ExportedModel:
        tables = model.tables()
        arrays = {
            "user_factors": tables["gmf_user"] * tables["out_w"],
            "item_factors": tables["gmf_item"],
            "item_bias": tables["item_bias"],
            "user_bias": tables["user_bias"],
        }
        params = {"global_bias": float(tables["out_b"][0]), "objective": "logistic",
                  **self.fold_in_params()}  # fmt: skip
        return ExportedModel("dot", arrays, params)


@register
class MLP(FoldInSampled):
    """logit = h . MLP([p_u, q_i]) + b ("ncf" kind)."""

    name = "mlp"
    config_class = MLPConfig
    config: MLPConfig

    def build(self, n_users: int, n_items: int) -> Any:
        return _ncf_model(n_users, n_items, 0, self.config.layers, self.config)

    def export_model(self, model: Any) -> ExportedModel:
        return ExportedModel("ncf", model.tables(), self.fold_in_params())


@register
class NeuMF(FoldInSampled):
    """GMF and MLP parts joined by one output unit ("ncf" kind)."""

    name = "neumf"
    config_class = NeuMFConfig
    config: NeuMFConfig

    def build(self, n_users: int, n_items: int) -> Any:
        cfg = self.config
        return _ncf_model(n_users, n_items, cfg.factors, cfg.layers, cfg)

    def export_model(self, model: Any) -> ExportedModel:
        return ExportedModel("ncf", model.tables(), self.fold_in_params())

    def fit_here(self, train: EncodedInteractions) -> FitHistory:
        """As every sampled model, after the pretraining that `pretrain` names; each stage
        stops early on the same validation split."""
        cfg = self.config
        if cfg.pretrain == "none":
            return super().fit_here(train)
        data, fit_part, valid, rng = self.seeded_split(train)
        n_users, n_items = train.n_users, train.n_items
        gmf = self.train_model(_ncf_model(n_users, n_items, cfg.factors, (), cfg),
                               fit_part, valid, rng, "neumf/gmf")  # fmt: skip
        mlp = None
        if cfg.pretrain == "gmf+mlp":
            mlp = self.train_model(_ncf_model(n_users, n_items, 0, cfg.layers, cfg),
                                   fit_part, valid, rng, "neumf/mlp")  # fmt: skip
        model = self.build(n_users, n_items)
        model(np.zeros((1, 2), np.int32))
        _combine(model, gmf, mlp, cfg.alpha)
        self.model = self.train_model(model, fit_part, valid, rng, self.name, finish_on=data)
        self._scorer = None
        return self.history


def _combine(neumf: Any, gmf: Any, mlp: Any | None, alpha: float) -> None:
    """NeuMF initialised from trained parts: their embeddings and layers, and the output
    weights [alpha h_gmf, (1 - alpha) h_mlp] with the biases (output, item, user) mixed alike.
    Without a trained `mlp`, NeuMF keeps its fresh MLP and alpha is 1: it starts as the GMF."""
    if mlp is None:
        mlp, alpha = neumf, 1.0
    neumf.gmf_user.set_weights(gmf.gmf_user.get_weights())
    neumf.gmf_item.set_weights(gmf.gmf_item.get_weights())
    neumf.mlp_user.set_weights(mlp.mlp_user.get_weights())
    neumf.mlp_item.set_weights(mlp.mlp_item.get_weights())
    for name in ("item_bias", "user_bias"):
        parts = getattr(gmf, name).get_weights()[0], getattr(mlp, name).get_weights()[0]
        getattr(neumf, name).set_weights([alpha * parts[0] + (1 - alpha) * parts[1]])
    for target, source in zip(neumf.hidden, mlp.hidden, strict=True):
        target.set_weights(source.get_weights())
    (gmf_w, gmf_b), (mlp_w, mlp_b) = gmf.out.get_weights(), mlp.out.get_weights()
    mlp_w = mlp_w[-neumf.settings["mlp_layers"][-1] :]  # a NeuMF's own output: its MLP rows
    neumf.out.set_weights([np.concatenate([alpha * gmf_w, (1 - alpha) * mlp_w]),
                           alpha * gmf_b + (1 - alpha) * mlp_b])  # fmt: skip
