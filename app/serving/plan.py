"""How one bundle is served, decided once when it loads: which retriever answers known users
and similar items (exact, IVF or retrieval -> ranking), from the catalog size and what the
scorer offers, never per request."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.config import Settings
from app.serving.bundle import Bundle
from app.serving.index import normalise_rows
from app.serving.retrieval import ExactRetriever, IvfRetriever, Retriever, TwoStageRetriever
from app.serving.scorers import DotScorer, Scorer

if TYPE_CHECKING:
    from app.serving.ann import IvfIndex, Space

log = logging.getLogger(__name__)

RECALL_GOAL = 0.95  # of the exact top-10 that IVF's must keep (tune_nprobe)
RECALL_SAMPLE = 200  # users of the bundle whose top-10 IVF must reproduce
FEWEST_LISTS = 8  # where tune_nprobe starts for users (recall@10 0.97 for 60,000 als items)


@dataclass(frozen=True)
class Plan:
    """The retrievers of one bundle. `items` is None for a model without item embeddings."""

    users: Retriever
    items: Retriever | None
    unit_items: np.ndarray | None  # unit-length item embeddings (similar items, explain)
    route: str  # exact | ivf | two_stage: how known users are retrieved


def plan_for(bundle: Bundle, settings: Settings) -> Plan:
    """Exact scans, unless the catalog reaches `ann_threshold` (IVF, dot-product models) or a
    dense-head model's catalog exceeds `ranking_candidates` (retrieval -> ranking)."""
    scorer = bundle.scorer
    embeddings = scorer.item_embeddings()
    unit = None if embeddings is None else normalise_rows(embeddings)
    users, route = served_users(scorer, settings, bundle.path)
    if route == "ivf":
        assert unit is not None
        by_item = cached_index(bundle.path / "ann-cosine", unit, "cosine", settings.ann_nprobe)
        return Plan(users, ivf_items(unit, by_item), unit, route)
    return Plan(users, None if unit is None else exact_items(unit), unit, route)


def served_users(
    scorer: Scorer, settings: Settings, folder: Path | None = None
) -> tuple[Retriever, str]:
    """How known users of `scorer` are retrieved, and the route's name (see plan_for): what
    serving uses, and what `reco evaluate` ranks with, so that the two agree. The IVF index
    is cached under `folder` when one is given."""
    n = scorer.n_items
    embedded = isinstance(scorer, DotScorer) and scorer.item_embeddings() is not None
    if embedded and n >= settings.ann_threshold:
        assert isinstance(scorer, DotScorer)
        cache = None if folder is None else folder / "ann-ip"
        index = user_index(scorer, cache, FEWEST_LISTS)
        tune_nprobe(scorer, index)
        return ivf_users(scorer, index), "ivf"
    retrieval_scores = getattr(scorer, "retrieval_scores", None)
    if callable(retrieval_scores) and n > settings.ranking_candidates:
        propose = ExactRetriever(n, retrieval_scores)
        two_stage = TwoStageRetriever(propose, scorer.score_pairs, settings.ranking_candidates)
        return two_stage, "two_stage"
    return exact_users(scorer), "exact"


def user_index(scorer: DotScorer, folder: Path | None, nprobe: int) -> IvfIndex:
    """The IVF index that retrieves users' items by inner product (see ivf_users)."""
    return cached_index(folder, indexed_items(scorer), "ip", nprobe)


def indexed_items(scorer: DotScorer) -> np.ndarray:
    """Item rows [q_i, b_i] made of one length by a last coordinate sqrt(M² - |[q_i, b_i]|²),
    M the longest, so that k-means lists group items as the inner product ranks them (trained
    factors' lengths vary a hundredfold: without it, recall@10 over 60,000 als items was 0.73
    with 64 lists scanned; with it, 0.99 with 16)."""
    augmented = np.hstack([scorer.item_factors, scorer.item_bias[:, None]]).astype(np.float64)
    lengths = np.einsum("ij,ij->i", augmented, augmented)
    level = np.sqrt(np.maximum(lengths.max() - lengths, 0.0))
    return np.hstack([augmented, level[:, None]]).astype(np.float32)


def tune_nprobe(scorer: DotScorer, index: IvfIndex) -> float:
    """Scan more lists (twice as many each time, at most every list, which is exact) until
    IVF's top-10 of a sample of the bundle's own users holds `RECALL_GOAL` of their exact
    top-10; the index keeps that nprobe, the fewest so tried. The recall reached."""
    rng = np.random.default_rng(0)
    n_users = len(scorer.user_factors)
    users = rng.choice(n_users, min(RECALL_SAMPLE, n_users), replace=False)
    exact, ivf, none = exact_users(scorer), ivf_users(scorer, index), np.empty(0, np.int64)
    wanted = [set(exact.top(user, 10, none)[0].tolist()) for user in users]
    nprobe = index.params.nprobe
    while True:
        index.set_nprobe(nprobe)
        pairs = zip(users, wanted, strict=True)
        found = [len(want & set(ivf.top(user, 10, none)[0].tolist())) for user, want in pairs]
        recall = sum(found) / max(1, sum(len(want) for want in wanted))
        if recall >= RECALL_GOAL or nprobe >= index.params.nlist:
            log.info("IVF recall@10 %.3f with nprobe %d (%d users)", recall, nprobe, len(users))
            return recall
        nprobe = min(2 * nprobe, index.params.nlist)


def exact_users(scorer: Scorer) -> ExactRetriever:
    """Every item scored for a user; batches of users with one matrix product."""
    return ExactRetriever(
        scorer.n_items, lambda user: scorer.score_users(np.array([user]))[0], scorer.score_users
    )


def exact_items(unit: np.ndarray) -> ExactRetriever:
    """Cosine similarity of an item to every item."""
    return ExactRetriever(len(unit), lambda item: unit @ unit[item])


_QUERY_TAIL = np.array([1.0, 0.0], np.float32)  # a user's side of [b_i, level_i]


def ivf_users(scorer: DotScorer, index: IvfIndex) -> IvfRetriever:
    """Users matched by inner product over `user_index`'s rows, [q_i, b_i, level_i] .
    [p_u, 1, 0]; the candidates are then scored by the model itself (output transform
    included)."""
    return IvfRetriever(
        index,
        lambda user: np.concatenate((scorer.user_factors[user], _QUERY_TAIL)),
        scorer.score_pairs,
        lambda user: scorer.score_users(np.array([user]))[0],
    )


def ivf_items(unit: np.ndarray, index: IvfIndex) -> IvfRetriever:
    return IvfRetriever(
        index,
        lambda item: unit[item],
        lambda item, some: unit[some] @ unit[item],
        lambda item: unit @ unit[item],
    )


def cached_index(folder: Path | None, items: np.ndarray, space: Space, nprobe: int) -> IvfIndex:
    """The index cached in `folder` if it fits `items`, else a new one (cached if possible,
    so that a restart loads it instead of rebuilding); queries scan `nprobe` lists. No
    folder: built, never cached (evaluation)."""
    # imported here: faiss maps ~20 MB of libraries, which small catalogs never need
    from app.serving.ann import AnnError, IvfIndex

    if folder is None:
        return IvfIndex.build(items, space=space, nprobe=nprobe)
    try:
        index = IvfIndex.load(folder, nprobe=nprobe)
        if index.params.n_items == len(items) and index.params.dim == items.shape[1]:
            return index
    except AnnError:
        pass
    index = IvfIndex.build(items, space=space, nprobe=nprobe)
    try:
        index.save(folder)
    except OSError as error:  # e.g. artifacts mounted read-only
        log.info("not caching the ANN index in %s: %s", folder, error)
    return index
