"""Approximate top-k over item vectors with an HNSW graph (hnswlib), for large catalogs.

The index lives beside a bundle as `ann-hnsw.bin` plus `ann-hnsw.json` (its parameters), so a
server loads it instead of rebuilding it. Queries return the same shape as
`app.serving.index.top_k`: item indices and similarity scores, best first, exclusions honoured
by fetching k + |excluded| neighbours and dropping the excluded ones.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import hnswlib
import numpy as np

log = logging.getLogger(__name__)

INDEX_FILE = "ann-hnsw.bin"
PARAMS_FILE = "ann-hnsw.json"
Space = Literal["ip", "cosine"]


class AnnError(Exception):
    """An index file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class HnswParams:
    """Graph shape and search breadth; defaults chosen by benchmarks/ann.py (see RESULTS.md)."""

    space: Space = "ip"
    m: int = 16
    ef_construction: int = 200
    ef_search: int = 320
    n_items: int = 0
    dim: int = 0


class HnswIndex:
    """An HNSW graph over item rows: `ip` ranks by dot product, `cosine` by cosine similarity."""

    def __init__(self, index: hnswlib.Index, params: HnswParams) -> None:
        self._index = index
        self.params = params
        index.set_ef(params.ef_search)

    @classmethod
    def build(
        cls,
        items: np.ndarray,
        *,
        space: Space = "ip",
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 320,
        seed: int = 42,
        threads: int = -1,
    ) -> HnswIndex:
        """Index the rows of `items` (n x d); row i is item index i."""
        if space not in ("ip", "cosine"):
            raise ValueError(f"space must be 'ip' or 'cosine' (got {space!r})")
        items = np.ascontiguousarray(items, dtype=np.float32)
        if items.ndim != 2 or len(items) == 0:
            raise ValueError(f"items must be a non-empty 2-D matrix (got shape {items.shape})")
        n, dim = items.shape
        index = hnswlib.Index(space=space, dim=dim)
        index.init_index(max_elements=n, M=m, ef_construction=ef_construction, random_seed=seed)
        index.add_items(items, np.arange(n), num_threads=threads)
        params = HnswParams(space, m, ef_construction, ef_search, n, dim)
        log.info(
            "built hnsw index: %d items, dim %d, M=%d, ef_construction=%d",
            n,
            dim,
            m,
            ef_construction,
        )
        return cls(index, params)

    @classmethod
    def load(cls, folder: Path, *, ef_search: int | None = None) -> HnswIndex:
        """The index saved in `folder` by `save`; `ef_search` overrides the saved value."""
        folder = Path(folder)
        try:
            raw = json.loads((folder / PARAMS_FILE).read_text())
            params = HnswParams(**raw)
        except (OSError, json.JSONDecodeError, TypeError) as error:
            raise AnnError(f"{folder / PARAMS_FILE}: unreadable ({error})") from None
        if ef_search is not None:
            params = replace(params, ef_search=ef_search)
        index = hnswlib.Index(space=params.space, dim=params.dim)
        try:
            index.load_index(str(folder / INDEX_FILE), max_elements=params.n_items)
        except RuntimeError as error:
            raise AnnError(f"{folder / INDEX_FILE}: unreadable ({error})") from None
        if index.get_current_count() != params.n_items:
            raise AnnError(
                f"{folder / INDEX_FILE}: {index.get_current_count()} items, "
                f"{PARAMS_FILE} says {params.n_items}"
            )
        return cls(index, params)

    def save(self, folder: Path) -> None:
        """Write `ann-hnsw.bin` and `ann-hnsw.json` into `folder` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._index.save_index(str(folder / INDEX_FILE))
        (folder / PARAMS_FILE).write_text(json.dumps(asdict(self.params), indent=2) + "\n")

    def set_ef_search(self, ef_search: int) -> None:
        """Search breadth for later queries: higher is more accurate and slower."""
        self.params = replace(self.params, ef_search=ef_search)
        self._index.set_ef(ef_search)

    def __len__(self) -> int:
        return self.params.n_items

    def query(
        self, vector: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices (int64) and similarities (float32) of about the k best items, best first.

        Similarity is the dot product for `ip` and the cosine for `cosine`. Excluded indices
        never appear; fewer than k come back only when the catalog runs out.
        """
        excluded = np.unique(exclude) if exclude is not None and len(exclude) else None
        fetch = min(k + (0 if excluded is None else len(excluded)), len(self))
        if fetch <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        # hnswlib searches with max(ef, k), so a large fetch stays exact enough without set_ef
        labels, distances = self._index.knn_query(
            np.asarray(vector, dtype=np.float32).reshape(1, -1), k=fetch, num_threads=1
        )
        indices = labels[0].astype(np.int64)
        scores = (1.0 - distances[0]).astype(np.float32)
        if excluded is not None:
            keep = ~np.isin(indices, excluded)
            indices, scores = indices[keep], scores[keep]
        return indices[:k], scores[:k]
