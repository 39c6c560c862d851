"""Memory planned before a fit starts: each model estimates the bytes its fit adds on top of
the loaded training data (`Recommender.memory_bytes`), and a fit over the budget is refused
with a message naming the models that fit, instead of being killed by the kernel halfway.

The budget is RECO_TRAIN_MEMORY_BYTES when set, else the memory the machine has available
when the fit starts (MemAvailable). Evaluation sizes its batches of users from the same
budget, so it never holds a users x items matrix at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import Settings

if TYPE_CHECKING:
    from training.models.base import Recommender
    from training.vocab import EncodedInteractions

GB = 1e9
# bytes a row of training data costs in a fit's own copies (positives, validation carve,
# sort keys): int32 user and item, float32 rating, int64 timestamp, bool, twice over
ROW_BYTES = 2 * (4 + 4 + 4 + 8 + 1) + 16
SCORE_CELL_BYTES = 48  # per user x item cell of a batch being ranked: scores, masks, top-k
SCORE_BUDGET_SHARE = 0.05  # of the training budget, for one batch of scored users
MAX_SCORE_BYTES = 512 * 2**20  # a larger batch ranks no faster


class MemoryPlanError(ValueError):
    """A fit that would need more memory than the budget; names the models that fit."""


def budget_bytes() -> int:
    """Bytes a fit may add: RECO_TRAIN_MEMORY_BYTES, else the machine's available memory."""
    configured = Settings().train_memory_bytes
    return configured if configured is not None else available_bytes()


def available_bytes() -> int:
    """MemAvailable of /proc/meminfo (Linux); elsewhere the free physical pages."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def score_batch_users(n_items: int, budget: int | None = None) -> int:
    """Users scored at once when ranking `n_items`: a share of the budget over what one row
    of scores and masks costs, at least 1."""
    budget = budget_bytes() if budget is None else budget
    batch_bytes = min(MAX_SCORE_BYTES, int(budget * SCORE_BUDGET_SHARE))
    return max(1, batch_bytes // (SCORE_CELL_BYTES * max(1, n_items)))


def describe(n_bytes: float) -> str:
    """Bytes as GB (or MB below one GB), for messages."""
    return f"{n_bytes / GB:.1f} GB" if n_bytes >= GB else f"{n_bytes / 2**20:.0f} MB"


def shape(train: EncodedInteractions) -> tuple[int, int, int]:
    """(users, items, rows): what every model's estimate depends on."""
    return train.n_users, train.n_items, len(train)


def fitting_models(task_of: Recommender, train: EncodedInteractions, budget: int) -> list[str]:
    """The registered models (default hyperparameters) of `task_of`'s tasks whose fit on
    `train` stays within `budget`, sorted by name."""
    from training.models.base import MODELS, create_model

    fits = []
    for name, cls in sorted(MODELS.items()):
        if name == task_of.name or not (cls.tasks & task_of.tasks):
            continue
        if create_model(name).memory_bytes(*shape(train)) <= budget:
            fits.append(name)
    return fits


def over_budget(model: Recommender, train: EncodedInteractions, budget: int) -> str | None:
    """Why `model` cannot be fitted on `train` within `budget` bytes, or None if it can."""
    need = model.memory_bytes(*shape(train))
    if need <= budget:
        return None
    users, items, rows = shape(train)
    return (
        f"{model.name} needs about {describe(need)} for {users:,} users x {items:,} items "
        f"({rows:,} rows), over the training memory budget of {describe(budget)} "
        "(RECO_TRAIN_MEMORY_BYTES, default: the machine's available memory)"
    )


def check_fits(model: Recommender, train: EncodedInteractions, budget: int | None = None) -> None:
    """Raise MemoryPlanError, naming the models that fit, if `model` would exceed the budget."""
    budget = budget_bytes() if budget is None else budget
    reason = over_budget(model, train, budget)
    if reason is None:
        return
    fits = fitting_models(model, train, budget)
    advice = f"models that fit: {', '.join(fits)}" if fits else "no model fits this budget"
    raise MemoryPlanError(f"{reason}; {advice}")
