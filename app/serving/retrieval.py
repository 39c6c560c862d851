"""Approximate candidate retrieval for large catalogs: IVF indexes over a dot-product bundle.

Used instead of the exact scan when the catalog has at least RECO_ANN_THRESHOLD items. Users
are matched by inner product over items augmented with their bias ([q_i, b_i] . [p_u, 1]);
similar items by cosine. Indexes are built at load time and cached beside the bundle when its
folder is writable (ann-ip/, ann-cosine/), so a restart loads them instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.serving.bundle import Bundle
from app.serving.scorers import DotScorer

if TYPE_CHECKING:
    from app.serving.ann import IvfIndex, Space

log = logging.getLogger(__name__)


def _index(folder: Path, items: np.ndarray, space: Space) -> IvfIndex:
    """The cached index in `folder` if it fits `items`, else a new one (cached if possible)."""
    # imported here: faiss maps ~20 MB of libraries, which small catalogs never need
    from app.serving.ann import AnnError, IvfIndex

    try:
        index = IvfIndex.load(folder)
        if index.params.n_items == len(items) and index.params.dim == items.shape[1]:
            return index
    except AnnError:
        pass
    index = IvfIndex.build(items, space=space)
    try:
        index.save(folder)
    except OSError as error:  # e.g. artifacts mounted read-only
        log.info("not caching the ANN index in %s: %s", folder, error)
    return index


class AnnRetrieval:
    """Top-k users' items and similar items through IVF indexes."""

    def __init__(self, bundle: Bundle, unit_items: np.ndarray) -> None:
        scorer = bundle.scorer
        assert isinstance(scorer, DotScorer)
        self.scorer = scorer
        augmented = np.hstack([scorer.item_factors, scorer.item_bias[:, None]])
        self.by_user = _index(bundle.path / "ann-ip", augmented, "ip")
        self.by_item = _index(bundle.path / "ann-cosine", unit_items, "cosine")
        self.unit_items = unit_items

    @classmethod
    def for_bundle(
        cls, bundle: Bundle, unit_items: np.ndarray | None, threshold: int
    ) -> AnnRetrieval | None:
        """Retrieval for dot-product bundles with at least `threshold` items, else None."""
        if not isinstance(bundle.scorer, DotScorer) or unit_items is None:
            return None
        if bundle.scorer.n_items < threshold:
            return None
        return cls(bundle, unit_items)

    def user_top(self, user: int, k: int, exclude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """About the k best items for a known user, with the model's own scores."""
        query = np.append(self.scorer.user_factors[user], 1.0)
        indices, raw = self.by_user.query(query, k, exclude)
        offset = self.scorer.user_bias[user] + self.scorer.global_bias
        return indices, self.scorer._transform((raw + offset).astype(np.float32))

    def similar_top(self, item: int, k: int, exclude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.by_item.query(self.unit_items[item], k, exclude)
