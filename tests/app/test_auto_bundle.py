"""A served `auto` bundle answers as `auto` with exactly its chosen model's lists; `?model=auto`
and `?model=<chosen>` stay distinct when both kinds of bundle are loaded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.conftest import make_client
from tests.conftest import block_interactions
from training.models.base import create_model
from training.pipeline import train_and_export

CANDIDATES = ("popularity", "als", "ease")


def _bundle(name: str, out: Path, **params: object) -> Path:
    """A bundle of `name` trained on the block fixture (no holdout, no report)."""
    return train_and_export(
        lambda: create_model(name, **params), block_interactions(), out, holdout=False,
        report=False,
    ).bundle  # fmt: skip


def test_auto_bundle_serves_its_chosen_model_under_the_name_auto(tmp_path) -> None:
    probe = _bundle("auto", tmp_path / "probe", candidates=CANDIDATES)
    chosen = json.loads((probe / "manifest.json").read_text())["selection"]["chosen"]
    artifacts = tmp_path / "artifacts"
    _bundle(chosen, artifacts / f"20250101T000000000000Z-{chosen}")
    _bundle("auto", artifacts / "20260101T000000000000Z-auto", candidates=CANDIDATES)
    with make_client(artifacts, tmp_path) as client:
        assert client.get("/ready").json()["model"] == "auto"  # the newest bundle is active
        default = client.get("/recommend/0", params={"k": 5}).json()
        by_name = client.get("/recommend/0", params={"k": 5, "model": "auto"}).json()
        direct = client.get("/recommend/0", params={"k": 5, "model": chosen}).json()
        assert default["model"] == by_name["model"] == "auto" and direct["model"] == chosen
        assert [i["item_id"] for i in default["items"]] == [i["item_id"] for i in direct["items"]]
        listed = {m["model"]: m for m in client.get("/models").json()["models"]}
        assert listed["auto"]["params"]["chosen"] == chosen and listed["auto"]["active"]
