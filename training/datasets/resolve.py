"""One entry point from a dataset spec (a name, folder or file) to `Interactions`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.interactions import DatasetError, Interactions

if TYPE_CHECKING:
    from training.datasets.stream import TableStream

CHOICES = "'synthetic', 'store', a MovieLens folder, or a .csv/.tsv/.parquet/.jsonl file"


def load_dataset(
    spec: str,
    *,
    synthetic: dict[str, Any] | None = None,
    columns: dict[str, str] | None = None,
    sep: str | None = None,
    database_url: str | None = None,
) -> Interactions:
    """Load the dataset that `spec` names; DatasetError naming it when there is none."""
    if spec == "synthetic":
        from training.datasets.synthetic import make_synthetic

        return make_synthetic(**(synthetic or {}))
    if spec == "store":
        from app.config import get_settings
        from training.datasets.store import load_store

        return load_store(database_url or get_settings().database_url)
    path = Path(spec)
    if path.is_dir():
        from training.datasets.movielens import load_movielens

        return load_movielens(path)
    if path.is_file():
        from training.datasets.tabular import load_table

        return load_table(path, columns, sep)
    raise DatasetError(spec, f"no such dataset; expected {CHOICES}")


def dataset_stream(
    spec: str, *, columns: dict[str, str] | None = None, sep: str | None = None
) -> TableStream | None:
    """The file or MovieLens folder `spec` names, in chunks; None for 'synthetic' and 'store',
    which are made in memory."""
    if spec in ("synthetic", "store"):
        return None
    path = Path(spec)
    if path.is_dir():
        from training.datasets.movielens import movielens_stream

        return movielens_stream(path)
    if path.is_file():
        from training.datasets.tabular import table_stream

        return table_stream(path, columns, sep)
    raise DatasetError(spec, f"no such dataset; expected {CHOICES}")
