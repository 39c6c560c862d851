"""Reading delimited interaction files strictly: a bad row is reported with file and line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from training.interactions import DatasetError

_PANDAS_LINE = re.compile(r"line (\d+)")


def read_delimited(
    path: Path,
    sep: str,
    names: list[str] | None,
    *,
    encoding: str = "utf-8",
    usecols: list[int] | list[str] | None = None,
) -> pd.DataFrame:
    """All fields as strings; a wrong field count raises DatasetError with the line number."""
    try:
        return pd.read_csv(
            path,
            sep=sep,
            header=None if names else "infer",
            names=names,
            usecols=usecols,
            dtype=str,
            keep_default_na=False,
            encoding=encoding,
            engine="python" if len(sep) > 1 else "c",
            compression="infer",
        )
    except pd.errors.ParserError as error:
        match = _PANDAS_LINE.search(str(error))
        reason = "wrong number of fields"
        raise DatasetError(path, reason, int(match.group(1)) if match else None) from None
    except (UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DatasetError(path, f"cannot read file: {error}") from None


def numeric_column(frame: pd.DataFrame, column: str, path: Path, first_line: int) -> np.ndarray:
    """`column` as float64; the first non-numeric cell raises DatasetError naming its line.

    `first_line` is the file line of the frame's first row (2 when there is a header row).
    """
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        row = int(bad[0])
        cell = frame[column].iloc[row]
        raise DatasetError(path, f"{column} is not a number: {cell!r}", first_line + row)
    return values


def id_column(frame: pd.DataFrame, column: str, path: Path, first_line: int) -> pd.Series:
    """`column` stripped; the first empty id raises DatasetError naming its line."""
    values = frame[column].astype(str).str.strip()
    empty = np.flatnonzero((values == "").to_numpy())
    if len(empty):
        raise DatasetError(path, f"empty {column} id", first_line + int(empty[0]))
    return values
