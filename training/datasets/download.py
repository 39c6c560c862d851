"""Download MovieLens archives for users with network access, checksum verified, safely unzipped."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from training.interactions import DatasetError


@dataclass(frozen=True)
class Archive:
    url: str
    md5: str  # as published by GroupLens beside each archive (<name>.zip.md5)


ARCHIVES = {
    "ml-100k": Archive(
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        "0e33842e24a9c977be4e0107933c0723",
    ),
    "ml-1m": Archive(
        "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        "c4d9eecfca2ab87c1945afe126590906",
    ),
}


def download_movielens(
    name: str, dest: Path, *, url: str | None = None, md5: str | None = None
) -> Path:
    """Fetch archive `name` into `dest`/<name>/ and return that folder.

    The archive must match its published md5 (or `md5`, for mirrors and tests); nothing is
    written to `dest` unless it does, and members that would escape the folder are refused.
    """
    if name not in ARCHIVES:
        raise ValueError(f"unknown archive {name!r}; choose one of: {', '.join(sorted(ARCHIVES))}")
    archive = ARCHIVES[name]
    expected = md5 or archive.md5
    dest = Path(dest)
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / f"{name}.zip"
        source_url = url or archive.url
        with urllib.request.urlopen(source_url, timeout=60) as response, local.open("wb") as out:
            shutil.copyfileobj(response, out)
        actual = hashlib.md5(local.read_bytes()).hexdigest()
        if actual != expected:
            raise DatasetError(local.name, f"checksum mismatch: md5 {actual}, expected {expected}")
        unpacked = Path(scratch) / "unpacked"
        _safe_extract(local, unpacked)
        roots = [p for p in unpacked.iterdir() if p.is_dir()]
        source = roots[0] if len(roots) == 1 else unpacked
        target = dest / name
        if target.exists():
            shutil.rmtree(target)
        dest.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
    return target


def _safe_extract(archive: Path, folder: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.namelist():
            path = PurePosixPath(member)
            if path.is_absolute() or ".." in path.parts:
                raise DatasetError(archive.name, f"unsafe path in archive: {member!r}")
        bundle.extractall(folder)
