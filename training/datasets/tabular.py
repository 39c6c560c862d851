"""Generic interaction tables: CSV/TSV, Parquet and JSON Lines (each optionally gzipped)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from training.interactions import DatasetError, Interactions

if TYPE_CHECKING:
    from training.datasets.stream import TableStream

# Our column name -> names commonly used for it in the wild (first match wins).
DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "user": ("user", "user_id", "userId", "userid", "reviewerID", "customer_id"),
    "item": ("item", "item_id", "itemId", "itemid", "movieId", "asin", "product_id"),
    "rating": ("rating", "value", "score", "overall", "stars"),
    "timestamp": ("timestamp", "time", "ts", "unixReviewTime", "date", "created_at"),
    "title": ("title", "name"),
    "genres": ("genres", "genre", "categories", "category"),
    "kind": ("kind", "event", "event_type"),  # click, play, purchase, rating, ...
}
SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".jsonl", ".ndjson", ".json")


def table_format(path: Path) -> str:
    """'csv', 'tsv', 'parquet' or 'jsonl' from the file name (a trailing .gz is ignored)."""
    name = path.name.lower().removesuffix(".gz")
    for suffix, kind in ((".parquet", "parquet"), (".tsv", "tsv"), (".csv", "csv"),
                         (".txt", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                         (".json", "jsonl")):  # fmt: skip
        if name.endswith(suffix):
            return kind
    raise DatasetError(path, f"unsupported file type; expected one of {', '.join(SUFFIXES)}")


def table_stream(
    path: Path, columns: dict[str, str] | None = None, sep: str | None = None
) -> TableStream:
    """A table file in chunks, our column names mapped to the file's via `columns`."""
    from training.datasets.stream import delimited_stream, jsonl_stream, parquet_stream

    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "no such file")
    kind = table_format(path)
    if kind == "parquet":
        return parquet_stream(path, columns)
    if kind == "jsonl":
        return jsonl_stream(path, columns)
    return delimited_stream(path, sep or ("\t" if kind == "tsv" else ","), columns)


def load_table(
    path: Path, columns: dict[str, str] | None = None, sep: str | None = None
) -> Interactions:
    """Load interactions from a table, mapping our column names to the file's via `columns`."""
    from training.datasets.rows import read_all

    return read_all(table_stream(path, columns, sep))
