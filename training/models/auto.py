"""`auto`: the default ranker. Fits each candidate model on a validation slice carved from its
own training data, keeps the best by validation ndcg@10, refits that one on all the training
data and serves its arrays.

The whole selection happens inside `fit`, so under `reco evaluate` it sees only the protocol's
train part: no test row steers the choice. The bundle keeps the name `auto` (the recipe that
was asked for, stable from one retrain to the next); which model won, with every candidate's
validation score, is in `selection` (the manifest's `selection` object and the report).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from training.memory_plan import budget_bytes, over_budget
from training.models._implicit import (
    ImplicitConfig,
    ValidationRanker,
    carve_validation,
    positives,
)
from training.models.base import (
    ExportedModel,
    FitHistory,
    Recommender,
    create_model,
    model_class,
    parameter_names,
    register,
)
from training.models.ease import ease_memory_bytes
from training.vocab import EncodedInteractions

log = logging.getLogger(__name__)

# imf left the defaults: it never won here (ml-100k validation: als 0.1841, imf 0.1783), and
# its Keras epochs cost minutes a million rows (benchmarks/RESULTS.md); it can still be listed
DEFAULT_CANDIDATES = ("als", "ease", "popularity")
METRIC = "val_ndcg@10"
SHARED_OPTIONS = ("seed", "rating_threshold")  # passed on to every candidate that has them


class AutoConfig(ImplicitConfig):
    """Which models compete, how much training data judges them, and EASE's memory budget."""

    candidates: tuple[str, ...] = Field(
        DEFAULT_CANDIDATES,
        min_length=1,
        description="ranking models to compare, each with its default hyperparameters; ties "
        "go to the one listed first",
    )
    validation_fraction: float = Field(
        0.1,
        ge=0,
        lt=0.5,
        description="per-user share of training rows held out to compare the candidates "
        "(0: no comparison, the first candidate that fits the budget is taken)",
    )
    selection_rows: int = Field(
        2_000_000,
        ge=1,
        le=10**10,
        description="compare the candidates on the positives of a random set of users holding "
        "about this many (all of them when there are fewer); the winner is refit on all",
    )
    ease_memory_mb: float = Field(
        2048,
        gt=0,
        le=1e7,
        description="skip ease when one of its fits would need more memory than this",
    )

    @field_validator("candidates")
    @classmethod
    def _rankers_only(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(names)) != len(names):
            raise ValueError(f"candidates must not repeat a model (got {list(names)})")
        for name in names:
            if name == AutoRecommender.name or "ranking" not in model_class(name).tasks:
                raise ValueError(f"candidate {name!r} is not a ranking model")
        return names


@register
class AutoRecommender(Recommender):
    """Validation-selected ranker; scores, exports and folds in exactly as the chosen model."""

    name = "auto"
    config_class = AutoConfig
    config: AutoConfig

    def __init__(self, config: AutoConfig | None = None) -> None:
        super().__init__(config)
        self.chosen: Recommender | None = None
        self.selection: dict[str, Any] | None = None

    def candidate(self, name: str) -> Recommender:
        """A fresh candidate `name` with its defaults, plus auto's seed and rating threshold
        where its config has them (popularity has no threshold)."""
        accepted = parameter_names(name)
        shared = {k: getattr(self.config, k) for k in SHARED_OPTIONS if k in accepted}
        return create_model(name, **shared)

    def skip_reason(self, name: str, train: EncodedInteractions, budget: int) -> str | None:
        """Why candidate `name` cannot run on `train` within the budgets, or None: the
        training memory budget (`training.memory_plan`), and ease_memory_mb for ease."""
        reason = over_budget(self.candidate(name), train, budget)
        if reason is not None or name != "ease":
            return reason
        need = ease_memory_bytes(train.n_users, train.n_items) / 2**20
        if need > self.config.ease_memory_mb:
            return (
                f"{train.n_items} items x {train.n_users} users need about {need:.0f} MB, "
                f"over ease_memory_mb={self.config.ease_memory_mb}"
            )
        return None

    def load_framework(self) -> None:
        """Import every candidate's framework (Keras for imf) before a timed fit."""
        for name in self.config.candidates:
            self.candidate(name).load_framework()

    def fit(self, train: EncodedInteractions) -> FitHistory:
        """Compare the candidates on a validation slice of `train`, refit the best on all of
        `train`; its history becomes auto's (the report's curves are the served model's).

        A candidate over its budget is skipped, one whose fit raises ValueError (data it
        cannot handle) is recorded as failed; each with a logged reason, never silently."""
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        rows = {name: {"name": name} for name in cfg.candidates}
        budget = budget_bytes()
        for name in cfg.candidates:
            reason = self.skip_reason(name, train, budget)
            if reason is not None:
                log.warning("candidate=%s skipped: %s", name, reason)
                rows[name]["skipped"] = reason
        order = [name for name in cfg.candidates if "skipped" not in rows[name]]
        sample = user_sample(positives(train, cfg.rating_threshold), cfg.selection_rows, rng)
        fit_part, valid = carve_validation(sample, cfg.validation_fraction, rng)
        validation: dict[str, Any] = {"fraction": cfg.validation_fraction,
                                      "sample_users": sample.n_users,
                                      "sample_rows": len(sample)}  # fmt: skip
        if valid is None:
            log.warning("no validation slice (fraction 0 or under 20 positives): candidates "
                        "taken in the listed order")  # fmt: skip
        else:
            ranker = ValidationRanker(fit_part, valid, rng)
            validation |= {"fit_rows": len(fit_part), "validation_rows": len(valid),
                           "validation_users": len(ranker.users)}  # fmt: skip
            for name in order:
                rows[name] |= self._trial(name, fit_part, ranker)
            scored = [name for name in order if METRIC in rows[name]]
            order = sorted(scored, key=lambda name: -rows[name][METRIC])  # ties: listed order
        self.chosen, refit = self._refit_best(order, train, rows)
        self.selection = {"metric": METRIC, "validation": validation,
                          "candidates": list(rows.values()), "chosen": self.chosen.name,
                          "chosen_params": self.chosen.fitted_params(),
                          "refit_seconds": round(refit, 3)}  # fmt: skip
        self.history = self.chosen.history
        self._scorer = None
        return self.history

    def _trial(
        self, name: str, fit_part: EncodedInteractions, ranker: ValidationRanker
    ) -> dict[str, Any]:
        """Fit candidate `name` on the fit part: its validation score and fit time, or why
        it failed."""
        model = self.candidate(name)
        try:
            seconds = _timed_fit(model, fit_part)
        except ValueError as error:
            log.warning("candidate=%s failed: %s", name, error)
            return {"failed": str(error)}
        score = ranker(model.scorer)
        log.info("candidate=%s %s=%.4f fit_seconds=%.1f", name, METRIC, score, seconds)
        return {METRIC: round(score, 6), "fit_seconds": round(seconds, 3),
                "params": model.fitted_params()}  # fmt: skip

    def _refit_best(
        self, order: list[str], train: EncodedInteractions, rows: dict[str, dict[str, Any]]
    ) -> tuple[Recommender, float]:
        """The first candidate in `order` that fits all of `train` (the refit can meet data
        the fit part lacked), with its fit seconds; failures are noted in `rows`."""
        for name in order:
            model = self.candidate(name)
            try:
                seconds = _timed_fit(model, train)
            except ValueError as error:
                log.warning("chosen=%s failed on all training rows (%s); next best", name, error)
                rows[name]["refit_failed"] = str(error)
                continue
            log.info("chosen=%s refit on all %d training rows in %.1f s", name, len(train),
                     seconds)  # fmt: skip
            return model, seconds
        raise ValueError(f"no auto candidate could be fitted: {list(rows.values())}")

    def memory_bytes(self, n_users: int, n_items: int, n_rows: int) -> int:
        """What its smallest candidate needs: candidates over the budget are skipped."""
        return min(self.candidate(name).memory_bytes(n_users, n_items, n_rows)
                   for name in self.config.candidates)  # fmt: skip

    def _fitted(self) -> Recommender:
        if self.chosen is None:
            raise RuntimeError("auto has not been fitted yet")
        return self.chosen

    def fitted_params(self) -> dict[str, Any]:
        """The config, plus the chosen model's name and fitted params once fitted."""
        params = super().fitted_params()
        if self.chosen is None:
            return params
        return params | {"chosen": self.chosen.name, "chosen_params": self.chosen.fitted_params()}

    def export(self) -> ExportedModel:
        return self._fitted().export()

    def keras_model(self) -> Any | None:
        return self._fitted().keras_model()


def user_sample(
    data: EncodedInteractions, max_rows: int, rng: np.random.Generator
) -> EncodedInteractions:
    """The rows of random users, drawn until their rows reach about `max_rows` (all of `data`
    when it has no more): comparing candidates on them costs the same at any data size."""
    if len(data) <= max_rows:
        return data
    counts = np.bincount(data.users, minlength=data.n_users)
    order = rng.permutation(np.flatnonzero(counts))
    enough = int(np.searchsorted(np.cumsum(counts[order]), max_rows)) + 1
    return data.of_users(order[:enough])


def _timed_fit(model: Recommender, data: EncodedInteractions) -> float:
    """Seconds `model.fit(data)` took; a ValueError (data the model cannot fit) propagates."""
    start = time.perf_counter()
    model.fit(data)
    return time.perf_counter() - start
