"""Write a fitted model as a bundle: temp folder, verify by loading it back, rename into place."""

from __future__ import annotations

import json
import math
import platform
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.serving.bundle import (
    FORMAT_VERSION,
    HISTORY,
    MANIFEST,
    TEMP_PREFIX,
    load_bundle,
    sha256_file,
    valid_version,
)
from app.serving.idmap import IdMap
from training.models.base import Recommender
from training.vocab import EncodedInteractions

# the users' stored events a bundle carries, by its user map: arrays and a manifest entry
UserHistories = Callable[[IdMap], tuple[dict[str, np.ndarray], dict[str, Any]]]


def new_version(model_name: str, now: datetime | None = None) -> str:
    """A sortable, unique-enough bundle version: UTC time to the microsecond plus the model."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%fZ}-{model_name}"


def new_bundle_dir(artifacts_dir: Path, model_name: str) -> Path:
    return Path(artifacts_dir) / new_version(model_name)


def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("recoserve", "numpy", "pandas", "tensorflow", "keras"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _item_meta(train: EncodedInteractions, items: pd.DataFrame) -> dict[str, list[str]]:
    titles = dict(zip(items["item"], items["title"], strict=True))
    genres = dict(zip(items["item"], items["genres"], strict=True))
    ids = train.item_map.ids
    return {"titles": [titles.get(i, "") for i in ids], "genres": [genres.get(i, "") for i in ids]}


def _history(model: Recommender) -> list[dict[str, float | None]]:
    """The model's per-epoch figures as JSON (a non-finite value as null), for the curves the
    dashboard draws."""
    return [
        {name: float(v) if math.isfinite(v) else None for name, v in epoch.items()}
        for epoch in model.history.epochs
    ]


def export_bundle(
    model: Recommender,
    train: EncodedInteractions,
    *,
    out_dir: Path,
    dataset_name: str,
    dataset_fingerprint: str,
    items: pd.DataFrame,
    metrics: dict[str, float],
    report: Callable[[Path], None] | None = None,
    extra_dataset: dict[str, Any] | None = None,
    selection: dict[str, Any] | None = None,
    user_histories: UserHistories | None = None,
) -> Path:
    """Write `model` (fitted on `train`) as a verified bundle at `out_dir`; return it.

    `selection` (from a model chosen on validation, e.g. `auto`) is kept in the manifest as
    is, so the bundle says which candidates competed, their scores and the choice."""
    out_dir = Path(out_dir)
    if not valid_version(out_dir.name):
        raise ValueError(f"bundle folder name {out_dir.name!r} must match [A-Za-z0-9._-]+")
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = out_dir.parent / f"{TEMP_PREFIX}{out_dir.name}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    try:
        exported = model.export()
        arrays = {**exported.arrays, "popularity": train.item_counts().astype(np.int64)}
        histories: dict[str, Any] = {}
        if user_histories is not None:
            held, entry = user_histories(train.user_map)
            arrays |= held
            histories = {"histories": entry}
        for name, array in arrays.items():
            np.save(temp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        train.user_map.save(temp / "users.json")
        train.item_map.save(temp / "items.json")
        (temp / "item_meta.json").write_text(json.dumps(_item_meta(train, items)))
        (temp / HISTORY).write_text(json.dumps(_history(model)))
        keras_model = model.keras_model()
        if keras_model is not None:
            keras_model.save(temp / "model.keras")
        if report is not None:
            report(temp / "report.html")
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": out_dir.name,
            "created_at": datetime.now(UTC).isoformat(),
            "model": {
                "name": model.name,
                "kind": exported.kind,
                "params": model.fitted_params(),
                "scorer_params": exported.params,
            },
            "dataset": {
                "name": dataset_name,
                "fingerprint": dataset_fingerprint,
                "n_users": train.n_users,
                "n_items": train.n_items,
                "n_interactions": len(train),
                **(extra_dataset or {}),
            },
            "metrics": {k: float(v) for k, v in metrics.items()},
            **({"selection": selection} if selection is not None else {}),
            **histories,
            "libraries": _library_versions(),
            "files": _file_entries(temp),
        }
        (temp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        load_bundle(temp, check_name=False)  # exactly what the server will do
        temp.rename(out_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return out_dir


def _file_entries(folder: Path) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        entry: dict[str, Any] = {"sha256": sha256_file(file), "bytes": file.stat().st_size}
        if file.suffix == ".npy":
            array = np.load(file, mmap_mode="r", allow_pickle=False)
            entry |= {"shape": list(array.shape), "dtype": str(array.dtype)}
        entries[file.name] = entry
    return entries
