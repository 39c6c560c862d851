"""Two stand-in datasets in the other MovieLens layouts, derived from MovieLens 100K, to check
that defaults hold beyond the data they were picked on (the real ml-1m and ml-latest cannot
be downloaded on these machines).

    .venv/bin/python benchmarks/movielens_standins.py ../shared/datasets/ml-100k /tmp/standins

writes, never into the repository (ml-100k's licence forbids copies):
- ml-derived-1m: the ml-1m layout (`ratings.dat`, `movies.dat`, `::`), 60 % of the users
  (seeded) with all their ratings;
- ml-derived-latest: the ml-latest layout (`ratings.csv`, `movies.csv`, with headers), the
  ratings before 1998-01-01, then items with >= 10 of them and users with >= 5.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from training.datasets.movielens import load_movielens

USER_SHARE = 0.6
LATEST_BEFORE = pd.Timestamp("1998-01-01", tz="UTC").timestamp()
MIN_ITEM_ROWS, MIN_USER_ROWS = 10, 5


def one_m_layout(ratings: pd.DataFrame, movies: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ratings.astype({"rating": int, "timestamp": int}).astype(str)
    (folder / "ratings.dat").write_text("".join(f"{'::'.join(r)}\n" for r in rows.to_numpy()))
    lines = (f"{i}::{t}::{g}\n" for i, t, g in movies[["item", "title", "genres"]].to_numpy())
    (folder / "movies.dat").write_text("".join(lines), encoding="latin-1")


def latest_layout(ratings: pd.DataFrame, movies: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    header = {"user": "userId", "item": "movieId", "rating": "rating", "timestamp": "timestamp"}
    ratings.astype({"timestamp": int}).rename(columns=header).to_csv(
        folder / "ratings.csv", index=False
    )
    movies[["item", "title", "genres"]].rename(columns={"item": "movieId"}).to_csv(
        folder / "movies.csv", index=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the ml-100k folder")
    parser.add_argument("target", type=Path, help="where the two folders go")
    args = parser.parse_args()
    data = load_movielens(args.source)
    ratings, movies = data.frame[["user", "item", "rating", "timestamp"]], data.items
    users = ratings["user"].unique()
    kept = np.random.default_rng(42).choice(users, round(USER_SHARE * len(users)), replace=False)
    one_m_layout(ratings[ratings["user"].isin(kept)], movies, args.target / "ml-derived-1m")
    early = ratings[ratings["timestamp"] < LATEST_BEFORE]
    early = early[early["item"].map(early["item"].value_counts()) >= MIN_ITEM_ROWS]
    early = early[early["user"].map(early["user"].value_counts()) >= MIN_USER_ROWS]
    latest_layout(early, movies, args.target / "ml-derived-latest")
    for name in ("ml-derived-1m", "ml-derived-latest"):
        derived = load_movielens(args.target / name)
        print(f"{name}: {len(derived.frame)} rows, {derived.frame['user'].nunique()} users, "
              f"{derived.frame['item'].nunique()} items")  # fmt: skip


if __name__ == "__main__":
    main()
