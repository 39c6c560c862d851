"""Generic interaction tables: CSV/TSV, Parquet and JSON Lines (each optionally gzipped)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from training.datasets.parsing import id_column, numeric_column, read_delimited
from training.interactions import DatasetError, Interactions, empty_items

# Our column name -> names commonly used for it in the wild (first match wins).
DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "user": ("user", "user_id", "userId", "userid", "reviewerID", "customer_id"),
    "item": ("item", "item_id", "itemId", "itemid", "movieId", "asin", "product_id"),
    "rating": ("rating", "value", "score", "overall", "stars"),
    "timestamp": ("timestamp", "time", "ts", "unixReviewTime", "date", "created_at"),
    "title": ("title", "name"),
    "genres": ("genres", "genre", "categories", "category"),
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


def load_table(
    path: Path, columns: dict[str, str] | None = None, sep: str | None = None
) -> Interactions:
    """Load interactions from a table, mapping our column names to the file's via `columns`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "no such file")
    kind = table_format(path)
    raw, first_line = _read(path, kind, sep)
    mapping = _resolve_columns(raw.columns, columns or {}, path)
    frame = pd.DataFrame(
        {
            "user": id_column(raw, mapping["user"], path, first_line).to_numpy(),
            "item": id_column(raw, mapping["item"], path, first_line).to_numpy(),
        }
    )
    frame["rating"] = (
        numeric_column(raw, mapping["rating"], path, first_line) if "rating" in mapping else 1.0
    )
    frame["is_rating"] = "rating" in mapping  # without ratings, every row is an event
    frame["timestamp"] = (
        _timestamps(raw[mapping["timestamp"]], path, first_line)
        if "timestamp" in mapping
        else np.arange(len(raw), dtype=np.int64)
    )
    return Interactions(frame, path.name, _items(raw, mapping))


def _read(path: Path, kind: str, sep: str | None) -> tuple[pd.DataFrame, int]:
    """The file as a frame of strings, and the line number of its first data row."""
    if kind == "parquet":
        try:
            return pd.read_parquet(path).astype(str), 1
        except Exception as error:  # pyarrow raises several unrelated types
            raise DatasetError(path, f"cannot read Parquet: {error}") from None
    if kind == "jsonl":
        return _read_jsonl(path), 1
    return read_delimited(path, sep or ("\t" if kind == "tsv" else ","), None), 2


def _read_jsonl(path: Path) -> pd.DataFrame:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    records = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(path, f"invalid JSON: {error.msg}", number) from None
            if not isinstance(record, dict):
                raise DatasetError(path, "each line must be a JSON object", number)
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    return frame.astype(str).replace({"nan": "", "None": ""})


def _resolve_columns(available: pd.Index, requested: dict[str, str], path: Path) -> dict[str, str]:
    unknown = set(requested) - set(DEFAULT_NAMES)
    if unknown:
        raise DatasetError(path, f"unknown column roles {sorted(unknown)}")
    mapping: dict[str, str] = {}
    for role, candidates in DEFAULT_NAMES.items():
        if role in requested:
            if requested[role] not in available:
                raise DatasetError(
                    path, f"column {requested[role]!r} (for {role}) not in {list(available)}"
                )
            mapping[role] = requested[role]
        else:
            found = next((c for c in candidates if c in available), None)
            if found is not None:
                mapping[role] = found
    for role in ("user", "item"):
        if role not in mapping:
            raise DatasetError(
                path, f"no {role} column; found {list(available)} (map one with --columns)"
            )
    return mapping


def _timestamps(values: pd.Series, path: Path, first_line: int) -> np.ndarray:
    """Unix seconds from seconds, milliseconds or ISO-8601 strings."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        seconds = numeric.to_numpy(np.float64)
        if np.nanmax(np.abs(seconds), initial=0) > 1e11:  # milliseconds
            seconds = seconds / 1000.0
        return seconds.astype(np.int64)
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        row = int(bad[0])
        raise DatasetError(path, f"timestamp is not a time: {values.iloc[row]!r}", first_line + row)
    seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(np.float64).astype(np.int64)


def _items(raw: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    if "title" not in mapping and "genres" not in mapping:
        return empty_items()
    items = pd.DataFrame({"item": raw[mapping["item"]].str.strip()})
    for role in ("title", "genres"):
        items[role] = raw[mapping[role]] if role in mapping else ""
    return items.drop_duplicates("item", keep="last")
