"""A chunk of text cells typed into interaction columns; the first bad cell names its line.

Kinds come from the file's kind/event column when it has one (click, play, purchase,
rating, ...; lower-cased, the API's kind rule), else every row is a rating when the file has
a rating column and an `interaction` event when it has none. A value left empty defaults to
1.0 for every kind but a rating, which needs one. Timestamps are unix seconds, milliseconds
or ISO-8601 text; without a timestamp column, a row's index in the file stands in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from app.limits import KIND_PATTERN
from training.datasets.stream import Chunk, TableStream
from training.interactions import DatasetError, Interactions, empty_items

RATING = "rating"
EVENT = "interaction"  # the kind of an event the file does not name, as in the API
IMPLICIT_VALUE = 1.0
_KIND = re.compile(KIND_PATTERN)


@dataclass(frozen=True)
class Rows:
    """Typed interaction columns of one chunk, external ids still text."""

    users: pa.Array  # string
    items: pa.Array  # string
    values: np.ndarray  # float64
    kinds: np.ndarray  # object: kind names
    stamps: np.ndarray  # int64 unix seconds
    first_line: int | None  # file line of the first row; None for in-memory data
    meta: pd.DataFrame  # item, title, genres of the chunk's items (empty without them)

    def __len__(self) -> int:
        return len(self.values)


def parse_chunk(chunk: Chunk, path: Path) -> Rows:
    """Type the chunk's cells; DatasetError naming the line of the first bad one."""
    table, first = chunk.table, chunk.first_line
    users = _ids(table["user"], "user", path, first)
    items = _ids(table["item"], "item", path, first)
    default = RATING if "rating" in table.column_names else EVENT
    if "kind" in table.column_names:
        kinds = _kinds(table["kind"], default, path, first)
    else:
        kinds = np.full(table.num_rows, default, dtype=object)
    if "rating" in table.column_names:
        values = _values(table["rating"], kinds != RATING, path, first)
    else:
        values = np.full(table.num_rows, IMPLICIT_VALUE)
    if "timestamp" in table.column_names:
        stamps = _stamps(table["timestamp"], path, first)
    else:
        stamps = np.arange(chunk.first_row, chunk.first_row + table.num_rows, dtype=np.int64)
    return Rows(users, items, values, kinds, stamps, first, _meta(table, items))


def _text(column: pa.ChunkedArray) -> pa.Array:
    return pc.utf8_trim_whitespace(column).combine_chunks()


def _ids(column: pa.ChunkedArray, role: str, path: Path, first: int) -> pa.Array:
    ids = _text(column)
    empty = np.flatnonzero(pc.equal(ids, "").to_numpy(zero_copy_only=False))
    if len(empty):
        raise DatasetError(path, f"empty {role} id", first + int(empty[0]))
    return ids


def _kinds(column: pa.ChunkedArray, default: str, path: Path, first: int) -> np.ndarray:
    encoded = pc.utf8_lower(_text(column)).dictionary_encode()
    names = [name or default for name in encoded.dictionary.to_pylist()]
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    for code, name in enumerate(names):
        if not _KIND.match(name):
            row = int(np.flatnonzero(codes == code)[0])
            raise DatasetError(
                path,
                f"kind {name!r} is not a kind: a lower-case letter, then up to 31 letters, "
                "digits, '_' or '-'",
                first + row,
            )
    return np.array(names, dtype=object)[codes]


def _numbers(text: pa.Array) -> np.ndarray:
    """Text as float64 (NaN where empty or not a number): pyarrow's cast, else pandas'."""
    blank = pc.equal(text, "")
    try:
        cast = pc.cast(pc.if_else(blank, pa.scalar(None, pa.string()), text), pa.float64())
        return np.array(cast.to_numpy(zero_copy_only=False), dtype=np.float64)  # writable
    except pa.ArrowInvalid:
        return pd.to_numeric(text.to_pandas(), errors="coerce").to_numpy(np.float64)


def _values(column: pa.ChunkedArray, may_be_empty: np.ndarray, path: Path, first: int):
    """Values as float64; an empty cell takes the implicit value where `may_be_empty`."""
    text = _text(column)
    values = _numbers(text)
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False) & may_be_empty
    bad = np.flatnonzero(~np.isfinite(values) & ~empty)
    if len(bad):
        row = int(bad[0])
        raise DatasetError(path, f"rating is not a number: {text[row].as_py()!r}", first + row)
    values[empty] = IMPLICIT_VALUE
    return values


def _stamps(column: pa.ChunkedArray, path: Path, first: int) -> np.ndarray:
    """Unix seconds (int64) from seconds, milliseconds (above 1e11) or ISO-8601 text."""
    text = _text(column)
    seconds = _numbers(text)
    if not np.isfinite(seconds).all():
        values = text.to_pandas()
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
        from_text = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
        seconds = np.where(np.isfinite(seconds), seconds, from_text)
        bad = np.flatnonzero(~np.isfinite(seconds))
        if len(bad):
            row = int(bad[0])
            raise DatasetError(path, f"timestamp is not a time: {values[row]!r}", first + row)
    seconds = np.where(np.abs(seconds) > 1e11, seconds / 1000.0, seconds)
    return seconds.astype(np.int64)


def _meta(table: pa.Table, items: pa.Array) -> pd.DataFrame:
    roles = [role for role in ("title", "genres") if role in table.column_names]
    if not roles:
        return empty_items()
    meta = pd.DataFrame({"item": items.to_pandas()})
    for role in ("title", "genres"):
        meta[role] = table[role].to_pandas() if role in roles else ""
    return meta.drop_duplicates("item", keep="last")


def rows_of(data: Interactions) -> Rows:
    """An in-memory dataset as one Rows: a rating is kind rating, any other row an event."""
    frame = data.frame
    return Rows(
        pa.array(frame["user"].to_numpy(), pa.string()),
        pa.array(frame["item"].to_numpy(), pa.string()),
        frame["rating"].to_numpy(np.float64),
        np.where(frame["is_rating"].to_numpy(), RATING, EVENT).astype(object),
        frame["timestamp"].to_numpy(np.int64),
        None,
        data.items,
    )


def read_all(stream: TableStream) -> Interactions:
    """The whole stream as one Interactions (for training on a file that fits in memory)."""
    parts = [parse_chunk(chunk, stream.path) for chunk in stream.chunks()]
    if not parts:
        parts = [parse_chunk(Chunk(pa.table({"user": [""], "item": [""]}).slice(0, 0), 1, 0),
                             stream.path)]  # fmt: skip
    meta = pd.concat([stream.items, *(p.meta for p in parts)], ignore_index=True)
    frame = pd.DataFrame(
        {
            "user": np.concatenate([p.users.to_numpy(zero_copy_only=False) for p in parts]),
            "item": np.concatenate([p.items.to_numpy(zero_copy_only=False) for p in parts]),
            "rating": np.concatenate([p.values for p in parts]),
            "timestamp": np.concatenate([p.stamps for p in parts]),
            "is_rating": np.concatenate([p.kinds == RATING for p in parts]),
        }
    )
    return Interactions(frame, stream.path.name, meta)
