"""Approximate top-k over item vectors with an inverted-file index (faiss IVF-Flat).

Items are grouped by k-means into `nlist` lists; a query scans only the `nprobe` lists whose
centroids suit it best, with exact inner products inside them. Chosen over hnswlib by
benchmarks/ann.py (RESULTS.md): at 1M x 64 it reaches recall@10 0.99 at well under 1 ms where
HNSW graphs stayed below 0.9. The index lives beside a bundle as `ann-ivf.faiss` plus
`ann-ivf.json` (its parameters), so a server loads it instead of rebuilding it. Queries return
the same shape as `app.serving.index.top_k`: item indices and similarity scores, best first.
Exclusions, filters and the exact fallback belong to `app.serving.retrieval.IvfRetriever`.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

log = logging.getLogger(__name__)

INDEX_FILE = "ann-ivf.faiss"
PARAMS_FILE = "ann-ivf.json"
Space = Literal["ip", "cosine"]
TRAINING_ROWS_PER_LIST = 64  # k-means sample size per centroid (faiss asks for at least 39)
DEFAULT_NPROBE = 64


class AnnError(Exception):
    """An index file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class IvfParams:
    """Index shape and search breadth; defaults chosen by benchmarks/ann.py (see RESULTS.md)."""

    space: Space = "ip"
    nlist: int = 0
    nprobe: int = DEFAULT_NPROBE
    n_items: int = 0
    dim: int = 0


def default_nlist(n_items: int) -> int:
    """About 4·sqrt(N) lists (the usual IVF rule), capped so k-means has 39 rows per list."""
    return max(1, min(round(4 * math.sqrt(n_items)), n_items // 39))


def _prepared(vectors: np.ndarray, space: Space) -> np.ndarray:
    """Contiguous float32 rows, unit length for `cosine` (so inner product is the cosine)."""
    rows = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    if space == "cosine":
        rows = rows.copy()
        faiss.normalize_L2(rows)
    return rows


class IvfIndex:
    """An IVF-Flat index over item rows: `ip` ranks by dot product, `cosine` by cosine."""

    def __init__(self, index: faiss.IndexIVFFlat, params: IvfParams) -> None:
        self._index = index
        self.params = params
        index.nprobe = params.nprobe

    @classmethod
    def build(
        cls,
        items: np.ndarray,
        *,
        space: Space = "ip",
        nlist: int | None = None,
        nprobe: int = DEFAULT_NPROBE,
        seed: int = 42,
    ) -> IvfIndex:
        """Index the rows of `items` (n x d); row i is item index i."""
        if space not in ("ip", "cosine"):
            raise ValueError(f"space must be 'ip' or 'cosine' (got {space!r})")
        items = np.asarray(items)
        if items.ndim != 2 or len(items) == 0:
            raise ValueError(f"items must be a non-empty 2-D matrix (got shape {items.shape})")
        rows = _prepared(items, space)
        n, dim = rows.shape
        nlist = nlist or default_nlist(n)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        rng = np.random.default_rng(seed)
        sample_size = min(n, nlist * TRAINING_ROWS_PER_LIST)
        index.train(rows[np.sort(rng.choice(n, sample_size, replace=False))])
        index.add(rows)
        log.info("built IVF index: %d items, dim %d, %d lists", n, dim, nlist)
        return cls(index, IvfParams(space, nlist, nprobe, n, dim))

    @classmethod
    def load(cls, folder: Path, *, nprobe: int | None = None) -> IvfIndex:
        """The index saved in `folder` by `save`; `nprobe` overrides the saved value."""
        folder = Path(folder)
        try:
            params = IvfParams(**json.loads((folder / PARAMS_FILE).read_text()))
        except (OSError, json.JSONDecodeError, TypeError) as error:
            raise AnnError(f"{folder / PARAMS_FILE}: unreadable ({error})") from None
        if nprobe is not None:
            params = replace(params, nprobe=nprobe)
        try:
            index = faiss.read_index(str(folder / INDEX_FILE))
        except RuntimeError as error:
            raise AnnError(f"{folder / INDEX_FILE}: unreadable ({error})") from None
        if index.ntotal != params.n_items or index.d != params.dim:
            raise AnnError(
                f"{folder / INDEX_FILE}: {index.ntotal} x {index.d}, "
                f"{PARAMS_FILE} says {params.n_items} x {params.dim}"
            )
        return cls(index, params)

    def save(self, folder: Path) -> None:
        """Write `ann-ivf.faiss` and `ann-ivf.json` into `folder` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(folder / INDEX_FILE))
        (folder / PARAMS_FILE).write_text(json.dumps(asdict(self.params), indent=2) + "\n")

    def set_nprobe(self, nprobe: int) -> None:
        """Lists scanned by later queries: more is more accurate and slower."""
        self.params = replace(self.params, nprobe=nprobe)
        self._index.nprobe = nprobe

    def __len__(self) -> int:
        return self.params.n_items

    def query(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices (int64) and similarities (float32) of about the k best items, best first.

        Similarity is the dot product for `ip` and the cosine for `cosine`. Fewer than k come
        back only when the scanned lists run out.
        """
        fetch = min(k, len(self))
        if fetch <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        scores, labels = self._index.search(_prepared(vector, self.params.space), fetch)
        indices, scores = labels[0].astype(np.int64), scores[0].astype(np.float32)
        keep = indices >= 0  # faiss pads with -1 when the scanned lists hold fewer than fetch
        return indices[keep], scores[keep]
