"""Interaction files read in chunks of rows, so memory does not depend on the file's size.

A `TableStream` yields Arrow tables of text columns named by role (user, item, rating,
timestamp, kind, title, genres) with the file line of each chunk's first row, from CSV/TSV
(pyarrow's multi-threaded reader, optionally gzipped), Parquet (row batches), JSON Lines and
the MovieLens rating files. Cells are text here; training/datasets/rows.py types them.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from training.interactions import DatasetError, empty_items

CHUNK_ROWS = 500_000
_BLOCK_BYTES = 16 << 20


@dataclass(frozen=True)
class Chunk:
    table: pa.Table  # text columns named by role
    first_line: int  # file line of the first row (blank lines are not counted)
    first_row: int  # 0-based index of the first row in the file


@dataclass
class TableStream:
    """A file's interactions as chunks; `mapping` is role -> the file's column name."""

    path: Path
    mapping: dict[str, str]
    open_chunks: Callable[[int], Iterator[Chunk]]
    items: pd.DataFrame = field(default_factory=empty_items)  # metadata beside the log

    def chunks(self, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
        return self.open_chunks(chunk_rows)


def resolve_columns(available: list[str], requested: dict[str, str], path: Path) -> dict[str, str]:
    """Role -> column: `requested` first, else the first common name found (DEFAULT_NAMES)."""
    from training.datasets.tabular import DEFAULT_NAMES

    unknown = set(requested) - set(DEFAULT_NAMES)
    if unknown:
        raise DatasetError(path, f"unknown column roles {sorted(unknown)}")
    mapping: dict[str, str] = {}
    for role, candidates in DEFAULT_NAMES.items():
        if role in requested:
            if requested[role] not in available:
                raise DatasetError(
                    path, f"column {requested[role]!r} (for {role}) not in {available}"
                )
            mapping[role] = requested[role]
        elif (found := next((c for c in candidates if c in available), None)) is not None:
            mapping[role] = found
    for role in ("user", "item"):
        if role not in mapping:
            raise DatasetError(
                path, f"no {role} column; found {available} (map one with --columns)"
            )
    return mapping


def delimited_stream(
    path: Path,
    sep: str,
    columns: dict[str, str] | None = None,
    *,
    names: list[str] | None = None,
    encoding: str = "utf8",
) -> TableStream:
    """A CSV-like file (first row the header unless `names` are given), read by pyarrow."""
    header = names or read_header(path, sep, encoding)
    mapping = resolve_columns(header, columns or {}, path)
    wanted = list(dict.fromkeys(mapping.values()))
    first = 1 if names else 2

    def chunks(chunk_rows: int) -> Iterator[Chunk]:
        reader = lambda: pacsv.open_csv(  # noqa: E731 - opening reads (and checks) a block
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, encoding=encoding, block_size=_BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(wanted, pa.string()),
                include_columns=wanted,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        batches = _checked(reader, path, sep, encoding, len(header), first)
        yield from _rechunk(batches, mapping, chunk_rows, first)

    return TableStream(path, mapping, chunks)


def read_header(path: Path, sep: str, encoding: str) -> list[str]:
    """The column names on a delimited file's first line."""
    try:
        with _open_text(path, encoding) as handle:
            return next(csv.reader(handle, delimiter=sep), [])
    except (UnicodeDecodeError, OSError) as error:
        raise DatasetError(path, f"cannot read file: {error}") from None


def _open_text(path: Path, encoding: str) -> TextIO:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    return opener(path, "rt", encoding=encoding, newline="")


def _checked(
    reader: Callable[[], Iterable[pa.RecordBatch]],
    path: Path,
    sep: str,
    encoding: str,
    width: int,
    first: int,
) -> Iterator[pa.RecordBatch]:
    """The reader's batches; a row with the wrong number of fields is reported with its line,
    found again by Python's csv module (pyarrow's streaming reader does not count lines)."""
    try:
        yield from reader()
    except pa.ArrowInvalid as error:
        if "Expected" not in str(error):
            raise DatasetError(path, f"cannot read file: {error}") from None
        with _open_text(path, encoding) as handle:
            rows = csv.reader(handle, delimiter=sep)
            for _ in range(first - 1):
                next(rows, None)
            line = next((rows.line_num for row in rows if row and len(row) != width), None)
        raise DatasetError(path, "wrong number of fields", line) from None


def _rechunk(
    batches: Iterable[pa.RecordBatch], mapping: dict[str, str], chunk_rows: int, first: int
) -> Iterator[Chunk]:
    """Batches regrouped into tables of exactly `chunk_rows` rows (the last one shorter), with
    columns renamed to their roles."""
    pending: list[pa.RecordBatch] = []
    held = done = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield _named(table.slice(0, chunk_rows), mapping, first + done, done)
            done += min(chunk_rows, held)
            rest = table.slice(chunk_rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield _named(pa.Table.from_batches(pending), mapping, first + done, done)


def _named(table: pa.Table, mapping: dict[str, str], first_line: int, first_row: int) -> Chunk:
    columns = {role: table.column(name) for role, name in mapping.items()}
    return Chunk(pa.table(columns), first_line, first_row)


def parquet_stream(path: Path, columns: dict[str, str] | None = None) -> TableStream:
    """A Parquet file in row batches, every mapped column as text."""
    try:
        available = pq.ParquetFile(path).schema_arrow.names
    except Exception as error:  # pyarrow raises several unrelated types
        raise DatasetError(path, f"cannot read Parquet: {error}") from None
    mapping = resolve_columns(available, columns or {}, path)

    def chunks(chunk_rows: int) -> Iterator[Chunk]:
        wanted = list(dict.fromkeys(mapping.values()))
        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=wanted)
        as_text = (_as_text(pa.Table.from_batches([b])).to_batches()[0] for b in batches)
        yield from _rechunk(as_text, mapping, chunk_rows, 1)

    return TableStream(path, mapping, chunks)


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as text, nulls as empty cells (as in a CSV file)."""
    import pyarrow.compute as pc

    return pa.table(
        {name: pc.fill_null(pc.cast(col, pa.string()), "") for name, col in
         zip(table.column_names, table.columns, strict=True)}
    )  # fmt: skip


def jsonl_stream(path: Path, columns: dict[str, str] | None = None) -> TableStream:
    """JSON Lines (one object a line); the first chunk's keys decide the column mapping."""
    first = next(_jsonl_frames(path, 1_000), pd.DataFrame())
    mapping = resolve_columns(list(first.columns), columns or {}, path)

    def chunks(chunk_rows: int) -> Iterator[Chunk]:
        done = 0
        for frame in _jsonl_frames(path, chunk_rows):
            table = pa.table({c: frame.get(c, pd.Series([""] * len(frame))).to_numpy(str)
                              for c in dict.fromkeys(mapping.values())})  # fmt: skip
            yield _named(table, mapping, 1 + done, done)
            done += len(frame)

    return TableStream(path, mapping, chunks)


def _jsonl_frames(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    records: list[dict] = []
    with _open_text(path, "utf8") as handle:
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
            if len(records) == chunk_rows:
                yield _text_frame(records)
                records = []
    if records:
        yield _text_frame(records)


def _text_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records).astype(str).replace({"nan": "", "None": ""})
