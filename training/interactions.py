"""The one in-memory table every loader returns and every trainer consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

INTERACTION_COLUMNS = ("user", "item", "rating", "timestamp")
ITEM_COLUMNS = ("item", "title", "genres")
NEGATIVE_COLUMNS = ("user", "item")
FINGERPRINT_CHUNK = 1_000_000


class DatasetError(ValueError):
    """A dataset that cannot be read; names the file, the line (1-based, if known) and why."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path, self.reason, self.line = str(path), reason, line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Interactions:
    """Interactions with external string ids, plus item metadata.

    `frame` has columns user (str), item (str), rating (float32), timestamp (int64, unix
    seconds) and is_rating (bool: the row is a rating on the data's scale; False for any other
    event, e.g. an API click; True when a loader does not say); `items` has columns item
    (str), title (str), genres (str, "|"-separated) and may be empty when the source has no
    metadata. `negatives` has columns user and item (str): explicit negative feedback (a
    dislike), kept apart from the rows so that no model learns it as a positive; a model whose
    objective holds explicit negatives (als) reads it, and a pair in it is no row's positive.
    """

    frame: pd.DataFrame
    name: str
    items: pd.DataFrame = field(default_factory=lambda: empty_items())
    negatives: pd.DataFrame = field(default_factory=lambda: empty_negatives())

    def __post_init__(self) -> None:
        missing = [c for c in INTERACTION_COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"interactions lack columns {missing}")
        object.__setattr__(self, "frame", normalise_frame(self.frame))
        object.__setattr__(self, "items", normalise_items(self.items))
        negatives = self.negatives[list(NEGATIVE_COLUMNS)].astype(str).drop_duplicates()
        object.__setattr__(self, "negatives", negatives.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.frame)

    def with_rows(self, frame: pd.DataFrame) -> Interactions:
        """The same dataset (name, item metadata, negatives) with other interaction rows, e.g.
        a split."""
        return Interactions(frame, self.name, self.items, self.negatives)

    def fingerprint(self) -> str:
        """sha256 of the interaction rows in a canonical order: same data, same fingerprint.

        The rows are ordered by (user, item, rating, timestamp) through sorted codes, and each
        id column is hashed FINGERPRINT_CHUNK rows at a time: sorting and joining the strings
        whole took 2 GB at 20M rows. The digest is that of the whole joined column."""
        frame = self.frame
        user_codes, users = pd.factorize(frame["user"], sort=True)
        item_codes, items = pd.factorize(frame["item"], sort=True)
        ratings, timestamps = frame["rating"].to_numpy(), frame["timestamp"].to_numpy()
        order = np.lexsort((timestamps, ratings, item_codes, user_codes))
        digest = hashlib.sha256()
        _hash_ids(digest, np.asarray(users, dtype=object), user_codes[order])
        _hash_ids(digest, np.asarray(items, dtype=object), item_codes[order])
        numbers = [ratings, timestamps]
        is_rating = frame["is_rating"].to_numpy()
        if not is_rating.all():  # all-rating data (every rating file) keeps its fingerprint
            numbers.append(is_rating)
        for values in numbers:
            digest.update(np.ascontiguousarray(values[order]).tobytes())
        if len(self.negatives):  # data without negatives keeps the fingerprint it had
            pairs = self.negatives.sort_values(list(NEGATIVE_COLUMNS), kind="stable")
            digest.update("\x1e".join(pairs["user"] + "\x1f" + pairs["item"]).encode())
        return digest.hexdigest()

    def titles(self) -> dict[str, str]:
        """Item id -> title, for the items that have one."""
        return dict(zip(self.items["item"], self.items["title"], strict=True))


def empty_items() -> pd.DataFrame:
    """An item table with the right columns and no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ITEM_COLUMNS})


def empty_negatives() -> pd.DataFrame:
    """A negatives table with the right columns and no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in NEGATIVE_COLUMNS})


def normalise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce interaction columns to their canonical dtypes, dropping any other column; rows
    without an is_rating column are ratings."""
    is_rating = frame["is_rating"] if "is_rating" in frame.columns else True
    return pd.DataFrame(
        {
            # as string arrays: a Python object per row took a minute each way at 20M rows
            "user": frame["user"].astype(str).array,
            "item": frame["item"].astype(str).array,
            "rating": frame["rating"].to_numpy(dtype=np.float32),
            "timestamp": frame["timestamp"].to_numpy(dtype=np.int64),
            "is_rating": np.broadcast_to(np.asarray(is_rating, dtype=bool), len(frame)).copy(),
        }
    )


def normalise_items(items: pd.DataFrame) -> pd.DataFrame:
    """Coerce item metadata to str columns item/title/genres, one row per item."""
    if items is None or len(items) == 0:
        return empty_items()
    out = pd.DataFrame({"item": items["item"].astype(str).to_numpy(dtype=object)})
    for column in ("title", "genres"):
        values = items[column] if column in items.columns else pd.Series([""] * len(items))
        out[column] = values.fillna("").astype(str).to_numpy(dtype=object)
    return out.drop_duplicates("item", keep="last").reset_index(drop=True)


def _hash_ids(digest: Any, distinct: np.ndarray, codes: np.ndarray) -> None:
    """Feed `digest` the ids distinct[codes] joined by "\x1f", a chunk at a time."""
    for start in range(0, len(codes), FINGERPRINT_CHUNK):
        if start:
            digest.update(b"\x1f")
        chunk = distinct[codes[start : start + FINGERPRINT_CHUNK]]
        digest.update("\x1f".join(chunk.tolist()).encode())
