"""The plain records passed between the store view, the model service and the routes."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from app.serving.rules import NO_RULES, Rules


@dataclass(frozen=True)
class FoldInColumns:
    """The columns only a fold-in reads, one entry per event of its history: read from the
    store when a user is folded in, not for every history (StoreView.fetch)."""

    values: np.ndarray  # float32; NaN: no value
    timestamps: np.ndarray  # float64 unix seconds when the event happened (its own timestamp)

    def __getitem__(self, keep: np.ndarray) -> FoldInColumns:
        return FoldInColumns(self.values[keep], self.timestamps[keep])


@dataclass(frozen=True)
class History:
    """A user's stored interactions as columns, as the recommender needs them. Items are
    codes into `item_names`, a list shared by every history of one store view that only ever
    grows, so a model can translate codes to its own indices once per item, not per request.
    `newest_api_at` says whether the user posted events after a bundle was made (the bundle
    of a file, which knows no store ids)."""

    item_codes: np.ndarray  # int32, into item_names
    item_names: Sequence[str]
    is_rating: np.ndarray  # bool: a rating (else a click, play... which counts as positive)
    ids: np.ndarray  # int64 store ids
    newest_api_at: float = -math.inf  # when the newest event posted to the API was stored
    kind_codes: np.ndarray | None = None  # int32 into kind_names; None: no kinds known
    kind_names: Sequence[str] = ()
    fold_in: FoldInColumns | None = None  # None: not read from the store (yet)
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

    def only(self, keep: np.ndarray) -> History:
        """The history of the events `keep` (a bool mask) selects, at the same version."""
        kinds = None if self.kind_codes is None else self.kind_codes[keep]
        fold_in = None if self.fold_in is None else self.fold_in[keep]
        columns = {"item_codes": self.item_codes[keep], "is_rating": self.is_rating[keep]}
        return replace(self, **columns, ids=self.ids[keep], kind_codes=kinds, fold_in=fold_in)

    @classmethod
    def empty(cls, deleted: tuple[int, float] | None = None, version: int = 0) -> History:
        codes, is_rating, ids = np.empty(0, np.int32), np.empty(0, bool), np.empty(0, np.int64)
        no_columns = FoldInColumns(np.empty(0, np.float32), np.empty(0, np.float64))
        return cls(codes, [], is_rating, ids, kind_codes=np.empty(0, np.int32),
                   fold_in=no_columns, deleted=deleted, version=version)  # fmt: skip


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
