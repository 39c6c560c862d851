"""The protocol every model shares, its typed config base, and the registry of models by name.

A model is fitted in TensorFlow/Keras (or numpy), then `export()`s plain arrays. Scoring, both
in evaluation and in the serving process, goes through `app.serving.scorers` built from those
arrays, so what is evaluated is exactly what is served.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.serving.scorers import Scorer, build_scorer
from training.vocab import EncodedInteractions

Task = Literal["rating", "ranking"]


class ModelConfig(BaseModel):
    """Hyperparameters of a model; subclasses add bounded, typed fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 42


@dataclass(frozen=True)
class ExportedModel:
    """What a fitted model hands to the bundle: a scorer kind, its arrays and scalar params."""

    kind: str
    arrays: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)

    def scorer(self) -> Scorer:
        return build_scorer(self.kind, self.arrays, self.params)


@dataclass
class FitHistory:
    """Per-epoch figures (loss, validation metrics), for progress lines and report curves."""

    epochs: list[dict[str, float]] = field(default_factory=list)


class Recommender(ABC):
    """Build from a typed config, `fit`, `export`; score through the exported arrays."""

    name: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    tasks: ClassVar[frozenset[Task]] = frozenset({"ranking"})
    framework: ClassVar[str | None] = None  # module that fit imports, e.g. "keras"

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.config = config if config is not None else self.config_class()
        self.history = FitHistory()
        self._scorer: Scorer | None = None

    @abstractmethod
    def fit(self, train: EncodedInteractions) -> FitHistory:
        """Learn from `train` (indices in its id maps); return the per-epoch history."""

    def load_framework(self) -> None:
        """Import the framework that `fit` uses, so a timed fit measures fitting alone (the
        TensorFlow import takes seconds once per process)."""
        if self.framework is not None:
            importlib.import_module(self.framework)

    @abstractmethod
    def export(self) -> ExportedModel:
        """The fitted parameters as plain numpy arrays."""

    def memory_bytes(self, n_users: int, n_items: int, n_rows: int) -> int:
        """Bytes a fit on data of this shape adds to the loaded data (`training.memory_plan`
        refuses a fit over budget before it starts): by default the fit's copies of the rows
        and float32 user and item tables of width 256 with two optimizer slots each; models
        with a different footprint override it."""
        from training.memory_plan import ROW_BYTES

        return ROW_BYTES * n_rows + 3 * 4 * 256 * (n_users + n_items)

    def fitted_params(self) -> dict[str, Any]:
        """The hyperparameters the fitted model actually used, as JSON: the config, with the
        values a model chose itself during fit (e.g. EASE's l2 picked on validation) in place
        of the configured ones. Models that choose values override this."""
        return self.config.model_dump(mode="json")

    def keras_model(self) -> Any | None:
        """The fitted Keras model, saved into the bundle as model.keras; None if there is none."""
        return None

    @property
    def scorer(self) -> Scorer:
        """The numpy scorer of the exported arrays (built once after fit)."""
        if self._scorer is None:
            self._scorer = self.export().scorer()
        return self._scorer

    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for each user index: shape (len(users), n_items)."""
        return self.scorer.score_users(np.asarray(users, dtype=np.int64))


MODELS: dict[str, type[Recommender]] = {}


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator: make a model available by its `name`."""
    if cls.name in MODELS:
        raise ValueError(f"model name {cls.name!r} registered twice")
    MODELS[cls.name] = cls
    return cls


def model_class(name: str) -> type[Recommender]:
    """The registered model called `name`, or a ValueError naming the choices."""
    import training.models  # noqa: F401  (registers every model)

    try:
        return MODELS[name]
    except KeyError:
        choices = ", ".join(sorted(MODELS))
        raise ValueError(f"unknown model {name!r}; choose one of: {choices}") from None


def parameter_names(name: str) -> list[str]:
    """The hyperparameter names that model `name` accepts, sorted."""
    return sorted(model_class(name).config_class.model_fields)


def create_model(name: str, **params: Any) -> Recommender:
    """The one model factory: the model `name` with its config built (and validated) from
    `params`. A name the config does not have is a ValueError that lists the valid ones,
    never silently dropped."""
    cls = model_class(name)
    unknown = sorted(set(params) - set(cls.config_class.model_fields))
    if unknown:
        raise ValueError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for model {name!r}; valid: {', '.join(parameter_names(name))}"
        )
    return cls(cls.config_class(**params))
