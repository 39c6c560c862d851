"""The training report of a bundle on disk as data: its per-epoch figures (history.json) and,
for a model chosen on validation, the candidates it was chosen among. Read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.errors import NotFound
from app.serving.bundle import HISTORY, BundleError, read_manifest, valid_version


def bundle_report(artifacts_dir: Path, version: str) -> dict[str, Any]:
    """The report data of bundle `version` under `artifacts_dir`; NotFound names what is
    missing or unreadable. A bundle written before history.json has an empty history."""
    folder = Path(artifacts_dir) / version
    if not valid_version(version) or not folder.is_dir():
        raise NotFound(f"no bundle {version!r} in the artifacts folder")
    try:
        manifest = read_manifest(folder)
        history = _history(folder / HISTORY) if HISTORY in manifest["files"] else []
    except BundleError as error:
        raise NotFound(f"bundle {version!r} is unreadable: {error}") from None
    model = manifest["model"]
    return {
        "version": manifest["version"],
        "model": model.get("name", ""),
        "kind": model.get("kind"),
        "history": history,
        "selection": manifest.get("selection"),
    }


def _history(file: Path) -> list[dict[str, float | None]]:
    """The per-epoch figures a bundle lists: a list of {name: number or null}."""
    try:
        history = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{file}: unreadable ({error})") from None
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise BundleError(f"{file}: expected a list of objects")
    return history
