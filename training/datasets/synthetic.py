"""The embedded default dataset: MovieLens-shaped synthetic ratings, deterministic from a seed.

Items have power-law popularity and 1-3 genres; users have Dirichlet tastes over genres; which
items a user rates follows popularity x taste, and the rating follows taste match plus user and
item biases and noise, so personalised models have real signal to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.interactions import Interactions

GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
_ADJECTIVES = (
    "Silent", "Crimson", "Lost", "Golden", "Broken", "Hidden", "Last", "Electric", "Wild",
    "Frozen", "Midnight", "Distant", "Secret", "Burning", "Quiet", "Iron", "Paper", "Velvet",
)  # fmt: skip
_NOUNS = (
    "River", "Empire", "Garden", "Signal", "Harbor", "Voyage", "Kingdom", "Witness", "Orchard",
    "Machine", "Horizon", "Letter", "Storm", "Mirror", "Frontier", "Circus", "Lantern", "Island",
)  # fmt: skip
_START = 874_724_710  # 1997-09-20, where MovieLens 100K begins
_SPAN = 215 * 86_400


def make_synthetic(
    n_users: int = 1000, n_items: int = 1700, n_ratings: int = 100_000, seed: int = 42
) -> Interactions:
    """Generate about `n_ratings` ratings (exactly, when the catalog allows) from `seed`."""
    if min(n_users, n_items, n_ratings) < 1:
        raise ValueError("synthetic sizes must be positive")
    rng = np.random.default_rng(seed)
    n_genres = len(GENRES)
    item_genres = _item_genres(n_items, n_genres, rng)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity = popularity[rng.permutation(n_items)]
    tastes = rng.dirichlet(np.full(n_genres, 0.3), size=n_users)
    affinity = tastes @ item_genres.T  # users x items, in [0, 1]
    counts = _ratings_per_user(n_users, n_items, n_ratings, rng)

    weights = popularity[None, :] * (0.05 + affinity) ** 2
    users, items = _sample_without_replacement(weights, counts, rng)

    user_bias = rng.normal(0, 0.35, n_users)
    item_bias = rng.normal(0, 0.35, n_items) + 0.3 * np.log(popularity / popularity.mean())
    signal = 3.4 + 2.5 * (affinity[users, items] - affinity.mean()) * 3
    raw = signal + user_bias[users] + item_bias[items] + rng.normal(0, 0.6, len(users))
    ratings = np.clip(np.rint(raw), 1, 5).astype(np.float32)

    first_seen = _START + rng.integers(0, _SPAN // 2, n_users)
    timestamps = first_seen[users] + rng.integers(0, _SPAN // 2, len(users))
    frame = pd.DataFrame(
        {
            "user": (users + 1).astype(str),
            "item": (items + 1).astype(str),
            "rating": ratings,
            "timestamp": timestamps,
        }
    ).sort_values("timestamp", kind="stable")
    return Interactions(frame.reset_index(drop=True), "synthetic", _item_table(item_genres, rng))


def _item_genres(n_items: int, n_genres: int, rng: np.random.Generator) -> np.ndarray:
    """A 0/1 items x genres matrix with 1-3 genres per item."""
    matrix = np.zeros((n_items, n_genres), np.float32)
    how_many = rng.choice([1, 2, 3], size=n_items, p=[0.5, 0.35, 0.15])
    for count in (1, 2, 3):
        rows = np.flatnonzero(how_many == count)
        picks = np.argsort(rng.random((len(rows), n_genres)), axis=1)[:, :count]
        matrix[rows[:, None], picks] = 1.0
    return matrix / matrix.sum(axis=1, keepdims=True)


def _ratings_per_user(
    n_users: int, n_items: int, n_ratings: int, rng: np.random.Generator
) -> np.ndarray:
    """Heavy-tailed activity per user summing to n_ratings (capped by the catalog)."""
    total = min(n_ratings, n_users * n_items)
    floor = min(20, total // n_users, n_items)
    shares = rng.pareto(1.6, n_users) + 0.05
    extra = total - floor * n_users
    counts = floor + np.floor(shares / shares.sum() * extra).astype(np.int64)
    counts = np.minimum(counts, n_items)
    while (missing := total - counts.sum()) > 0:  # hand out the rounding remainder
        room = np.flatnonzero(counts < n_items)
        take = rng.choice(room, size=min(missing, len(room)), replace=False)
        counts[take] += 1
    return counts


def _sample_without_replacement(
    weights: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per user, `counts[u]` distinct items drawn with probability proportional to weights.

    Gumbel top-k: the k largest of log(w) + Gumbel noise are a weighted sample without
    replacement, vectorised over all users at once.
    """
    keys = np.log(weights) + rng.gumbel(size=weights.shape)
    order = np.argsort(-keys, axis=1)
    mask = np.arange(weights.shape[1])[None, :] < counts[:, None]
    users = np.repeat(np.arange(weights.shape[0]), counts)
    return users, order[mask]


def _item_table(item_genres: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    n_items = len(item_genres)
    adjectives = rng.choice(_ADJECTIVES, n_items)
    nouns = rng.choice(_NOUNS, n_items)
    years = rng.integers(1930, 1998, n_items)
    titles = [f"The {a} {n} ({y})" for a, n, y in zip(adjectives, nouns, years, strict=True)]
    genres = ["|".join(GENRES[g] for g in np.flatnonzero(row)) for row in item_genres]
    return pd.DataFrame(
        {"item": [str(i + 1) for i in range(n_items)], "title": titles, "genres": genres}
    )
