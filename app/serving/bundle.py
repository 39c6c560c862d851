"""Load and verify a model bundle (manifest + .npy tables + id maps); numpy and JSON only.

Every file is checked against the manifest (sha256, and shape/dtype for arrays) before a
bundle is returned, so a damaged bundle never replaces a working model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.serving.idmap import IdMap
from app.serving.scorers import Scorer, ScorerError, build_scorer
from app.serving.trained_histories import PREFIX as HISTORIES_PREFIX
from app.serving.trained_histories import TrainedHistories

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
HISTORY = "history.json"  # per-epoch training figures; bundles before it have none
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TEMP_PREFIX = ".tmp-"


class BundleError(Exception):
    """A bundle that cannot be served; the message names the file and the problem."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    version: str
    manifest: dict[str, Any]
    model_name: str
    kind: str
    scorer: Scorer
    user_map: IdMap
    item_map: IdMap
    item_titles: list[str]
    item_genres: list[str]
    popularity: np.ndarray
    metrics: dict[str, float]
    created_at: str
    histories: TrainedHistories | None = None  # the users' stored events, if trained from the store


def valid_version(name: str) -> bool:
    """Whether `name` may be used as a bundle folder name (no path tricks)."""
    return bool(VERSION_PATTERN.match(name)) and ".." not in name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(path: Path) -> dict[str, Any]:
    """The parsed manifest of the bundle folder `path`, with its format version checked."""
    file = path / MANIFEST
    try:
        manifest = json.loads(file.read_text())
    except FileNotFoundError:
        raise BundleError(f"{file}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{file}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{file}: expected a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{file}: unknown format_version {manifest.get('format_version')!r} "
            f"(this server reads {FORMAT_VERSION})"
        )
    for key in ("version", "created_at", "model", "files"):
        if key not in manifest:
            raise BundleError(f"{file}: missing key {key!r}")
    return manifest


def _verified(path: Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """Check every listed file's sha256 (and array shape/dtype); return the arrays by stem."""
    arrays: dict[str, np.ndarray] = {}
    for name, entry in manifest["files"].items():
        if not valid_version(Path(name).name) or Path(name).name != name:
            raise BundleError(f"{path / MANIFEST}: bad file name {name!r}")
        file = path / name
        if not file.is_file():
            raise BundleError(f"{file}: missing")
        if sha256_file(file) != entry.get("sha256"):
            raise BundleError(f"{file}: sha256 does not match the manifest (altered or truncated)")
        if name.endswith(".npy"):
            # the users' histories are large and only read a user at a time: mapped, shared
            mapped = "r" if name.startswith(HISTORIES_PREFIX) else None
            try:
                array = np.load(file, mmap_mode=mapped, allow_pickle=False)
            except (ValueError, OSError, EOFError) as error:
                raise BundleError(f"{file}: unreadable array ({error})") from None
            if list(array.shape) != entry.get("shape") or str(array.dtype) != entry.get("dtype"):
                raise BundleError(
                    f"{file}: shape {list(array.shape)} {array.dtype} differs from the manifest "
                    f"({entry.get('shape')} {entry.get('dtype')})"
                )
            arrays[name.removesuffix(".npy")] = array
    return arrays


def _json_list(path: Path, name: str) -> Any:
    try:
        return json.loads((path / name).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise BundleError(f"{path / name}: unreadable ({error})") from None


def load_bundle(path: Path, *, check_name: bool = True) -> Bundle:
    """Load the bundle in folder `path`, verifying it completely; BundleError if anything is off.

    `check_name=False` lets the exporter verify its temporary folder before renaming it.
    """
    path = Path(path)
    if check_name and not valid_version(path.name):
        raise BundleError(f"{path}: not a valid bundle folder name")
    manifest = read_manifest(path)
    arrays = _verified(path, manifest)
    try:
        user_map = IdMap.load(path / "users.json")
        item_map = IdMap.load(path / "items.json")
    except (OSError, ValueError) as error:
        raise BundleError(f"{path}: bad id map ({error})") from None
    meta = _json_list(path, "item_meta.json")
    stored = {name: arrays.pop(name) for name in list(arrays) if name.startswith(HISTORIES_PREFIX)}
    try:
        histories = TrainedHistories.of(manifest["version"], manifest, stored, user_map)
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{path}: bad users' histories ({error})") from None
    popularity = arrays.pop("popularity", None)
    if popularity is None or len(popularity) != len(item_map):
        raise BundleError(f"{path / 'popularity.npy'}: missing or not one count per item")
    model = manifest["model"]
    try:
        scorer = build_scorer(model["kind"], arrays, model.get("scorer_params", {}))
    except (ScorerError, KeyError, ValueError) as error:
        raise BundleError(
            f"{path}: arrays do not fit the {model.get('kind')} scorer ({error})"
        ) from None
    if scorer.n_items != len(item_map):
        raise BundleError(f"{path / 'items.json'}: {len(item_map)} ids for {scorer.n_items} items")
    user_rows = arrays.get("user_factors")
    if user_rows is not None and len(user_rows) != len(user_map):
        raise BundleError(f"{path / 'users.json'}: {len(user_map)} ids for {len(user_rows)} rows")
    return Bundle(
        path=path,
        version=manifest["version"],
        manifest=manifest,
        model_name=model["name"],
        kind=model["kind"],
        scorer=scorer,
        user_map=user_map,
        item_map=item_map,
        item_titles=list(meta.get("titles", [""] * len(item_map))),
        item_genres=list(meta.get("genres", [""] * len(item_map))),
        popularity=popularity.astype(np.float64),
        metrics={k: float(v) for k, v in manifest.get("metrics", {}).items()},
        created_at=manifest["created_at"],
        histories=histories,
    )


def bundle_dirs(artifacts_dir: Path) -> list[Path]:
    """Candidate bundle folders (valid names with a manifest), temp folders excluded."""
    root = Path(artifacts_dir)
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and valid_version(p.name) and (p / MANIFEST).is_file()
    )  # fmt: skip


def list_bundles(artifacts_dir: Path) -> list[dict[str, Any]]:
    """Manifests of the bundles under `artifacts_dir`, newest first (unreadable ones skipped)."""
    manifests = []
    for path in bundle_dirs(artifacts_dir):
        try:
            manifests.append(read_manifest(path))
        except BundleError as error:
            log.warning("skipping %s", error)
    return sorted(manifests, key=lambda m: m["created_at"], reverse=True)


def newest_bundle_manifest(artifacts_dir: Path) -> dict[str, Any] | None:
    """The manifest of the newest bundle by creation time, valid or not (None if none)."""
    manifests = list_bundles(artifacts_dir)
    return manifests[0] if manifests else None
