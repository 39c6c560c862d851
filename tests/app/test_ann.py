"""IvfIndex against the exact numpy top-k: agreement, exclusions, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from app.serving.ann import INDEX_FILE, PARAMS_FILE, AnnError, IvfIndex
from app.serving.index import normalise_rows, top_k
from app.serving.retrieval import IvfRetriever


def _catalog(rng: np.random.Generator, n: int = 2000, dim: int = 16) -> np.ndarray:
    return rng.standard_normal((n, dim)).astype(np.float32)


def _recall(index: IvfIndex, items: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    hits = 0
    for query in queries:
        exact, _ = top_k(items @ query, k)
        approx, _ = index.query(query, k)
        hits += len(np.intersect1d(exact, approx))
    return hits / (k * len(queries))


@pytest.mark.parametrize("space", ["ip", "cosine"])
def test_ivf_query_agrees_with_exact_top10(rng: np.random.Generator, space: str) -> None:
    # clustered like trained embeddings; 512 lists, 64 scanned: a real approximation
    centres = _catalog(rng, n=200)
    items = centres[rng.integers(200, size=20_000)] + 0.5 * _catalog(rng, n=20_000)
    queries = centres[rng.integers(200, size=50)] + 0.5 * _catalog(rng, n=50)
    index = IvfIndex.build(items, space=space)
    assert index.params.nlist > index.params.nprobe
    reference = normalise_rows(items) if space == "cosine" else items
    assert _recall(index, reference, normalise_rows(queries)) >= 0.95


def test_ivf_query_scores_are_dot_products_best_first(rng: np.random.Generator) -> None:
    items = _catalog(rng)
    query = rng.standard_normal(items.shape[1]).astype(np.float32)
    indices, scores = IvfIndex.build(items).query(query, 10)
    np.testing.assert_allclose(scores, items[indices] @ query, rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(scores) <= 0)


def _retriever(index: IvfIndex, items: np.ndarray, query: np.ndarray) -> IvfRetriever:
    return IvfRetriever(
        index, lambda _: query, lambda _, some: items[some] @ query, lambda _: items @ query
    )


@pytest.mark.parametrize("small_set", [4096, 0])  # exclusions as a Python set, or numpy's
def test_ivf_retriever_excludes_given_items(
    rng: np.random.Generator, small_set: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.serving.retrieval.SMALL_SET", small_set)
    items = _catalog(rng)
    query = rng.standard_normal(items.shape[1]).astype(np.float32)
    retriever = _retriever(IvfIndex.build(items), items, query)
    best, _ = top_k(items @ query, 30)
    excluded = np.concatenate([best[:20], best[:5]])  # duplicates count once
    indices, _ = retriever.top(0, 10, excluded)
    assert len(indices) == 10
    assert not np.isin(indices, excluded).any()
    assert len(np.intersect1d(indices, best[20:30])) >= 9


def test_ivf_retriever_k_beyond_catalog_returns_every_unexcluded_item(
    rng: np.random.Generator,
) -> None:
    items = _catalog(rng, n=12, dim=4)
    retriever = _retriever(IvfIndex.build(items), items, items[0])
    indices, _ = retriever.top(0, 50, np.array([3, 4]))
    assert sorted(indices.tolist()) == [i for i in range(12) if i not in (3, 4)]


def test_ivf_retriever_answers_from_the_index_not_by_scanning(
    rng: np.random.Generator,
) -> None:
    """Regression: the index fetched exactly k + |excluded| neighbours, so its last fetched
    score always 'tied' the k-th kept one and every query fell back to the exact scan
    (/similar always: the query item is excluded and always fetched first)."""
    items = _catalog(rng)
    index = IvfIndex.build(items, space="cosine")
    unit = items / np.linalg.norm(items, axis=1, keepdims=True)
    retriever = IvfRetriever(
        index, lambda i: unit[i], lambda i, some: unit[some] @ unit[i], lambda i: unit @ unit[i]
    )
    for item in range(50):
        similar, _ = retriever.top(item, 10, np.array([item]))
        assert len(similar) == 10 and item not in similar
        retriever.top(item, 10, np.empty(0, np.int64))
    assert retriever.exact_scans == 0


def test_ivf_save_load_round_trip(rng: np.random.Generator, tmp_path) -> None:
    items = _catalog(rng)
    queries = rng.standard_normal((20, items.shape[1])).astype(np.float32)
    index = IvfIndex.build(items, space="cosine", nlist=20, nprobe=4)
    index.save(tmp_path)
    loaded = IvfIndex.load(tmp_path)
    assert (tmp_path / INDEX_FILE).is_file() and (tmp_path / PARAMS_FILE).is_file()
    assert loaded.params == index.params
    for query in queries:
        np.testing.assert_array_equal(loaded.query(query, 10)[0], index.query(query, 10)[0])
    assert IvfIndex.load(tmp_path, nprobe=8).params.nprobe == 8


def test_ivf_load_without_files_names_the_file(tmp_path) -> None:
    with pytest.raises(AnnError, match=PARAMS_FILE):
        IvfIndex.load(tmp_path)


def test_ivf_build_rejects_unknown_space(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="space must be"):
        IvfIndex.build(_catalog(rng, n=10), space="l2")  # type: ignore[arg-type]
