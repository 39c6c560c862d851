"""The plain records passed between the store view, the model service and the routes."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.serving.rules import NO_RULES, Rules


@dataclass(frozen=True)
class History:
    """A user's stored interactions as columns, as the recommender needs them. Items are
    codes into `item_names`, a list shared by every history of one store view that only ever
    grows, so a model can translate codes to its own indices once per item, not per request."""

    item_codes: np.ndarray  # int32, into item_names
    item_names: Sequence[str]
    values: np.ndarray  # float32
    is_rating: np.ndarray  # bool: a rating (else a click, play... which counts as positive)
    ids: np.ndarray  # int64 store ids
    created_at: np.ndarray  # float64 unix seconds when stored
    from_api: np.ndarray  # bool: posted to the API (not imported)
    timestamps: np.ndarray  # float64 unix seconds when the event happened (its own timestamp)
    kind_codes: np.ndarray | None = None  # int32 into kind_names; None: no kinds known
    kind_names: Sequence[str] = ()
    deleted: tuple[int, float] | None = None  # the user's newest deletion: (log id, time)
    version: int = 0  # grows whenever the history changes (a cached answer's stamp)

    def __len__(self) -> int:
        return len(self.item_codes)

    @property
    def item_ids(self) -> list[str]:
        return [self.item_names[code] for code in self.item_codes.tolist()]

    def of_kinds(self, kinds: Collection[str]) -> np.ndarray:
        """Which events are of one of `kinds` (e.g. the negative kinds), as a bool mask."""
        codes = [code for code, name in enumerate(self.kind_names) if name in kinds]
        if self.kind_codes is None or not codes:  # the usual case: none of these kinds known
            return np.zeros(len(self), bool)
        return np.isin(self.kind_codes, codes)

    @classmethod
    def empty(cls, deleted: tuple[int, float] | None = None, version: int = 0) -> History:
        types = (np.int32, np.float32, bool, np.int64, np.float64, bool, np.float64, np.int32)
        codes, *columns = (np.empty(0, t) for t in types)
        return cls(codes, [], *columns, deleted=deleted, version=version)


@dataclass(frozen=True)
class Because:
    """A history item behind a recommendation, with its embedding similarity to it."""

    item_id: str
    title: str
    similarity: float


@dataclass(frozen=True)
class ScoredItem:
    item_id: str
    score: float
    title: str
    because: list[Because] | None = None


@dataclass(frozen=True)
class Recommendation:
    user_id: str
    model: str
    cold_start: bool
    items: list[ScoredItem]
    strategy: str = "model"  # model | fold_in | popularity
    version: str | None = None  # the bundle that answered (None: the store fallback)


@dataclass(frozen=True)
class Scores:
    """/score's answer: scores in the order asked, and how they were obtained."""

    cold_start: bool
    scores: list[float]
    strategy: str


@dataclass(frozen=True)
class RecommendOptions:
    """Filters and paging of one /recommend request. `hidden_version` names the state of
    `hidden` (the store view's counter), so a model encodes each hidden set only once."""

    k: int = 10
    offset: int = 0
    exclude: Collection[str] = ()
    category: str | None = None
    exclude_seen: bool = True
    explain: bool = False
    hidden: Collection[str] = field(default_factory=frozenset)
    hidden_version: int | None = None  # None: unknown, encode `hidden` afresh
    rules: Rules = NO_RULES  # boost, max_per_category, dither (app/serving/rules.py)
