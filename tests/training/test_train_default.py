"""`reco train` without `--model`: the store's data become an `auto` bundle, a ranking model
with every candidate's validation score in manifest.json (the real default candidates)."""

from __future__ import annotations

import json
from pathlib import Path

from app.serving.bundle import load_bundle
from training.cli import main
from training.models.auto import DEFAULT_CANDIDATES
from training.models.base import model_class

TINY = ["--synthetic-users", "60", "--synthetic-items", "80", "--synthetic-ratings", "1500"]


def test_train_without_model_on_store_makes_a_ranking_bundle(store_url, tmp_path) -> None:
    assert main(["import", "synthetic", "--no-progress", "--database-url", store_url, *TINY]) == 0
    out = tmp_path / "bundle"
    assert main(["train", "--dataset", "store", "--database-url", store_url,
                 "--out", str(out)]) == 0  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    selection = manifest["selection"]
    assert manifest["model"]["name"] == "auto" == load_bundle(out, check_name=False).model_name
    assert [c["name"] for c in selection["candidates"]] == list(DEFAULT_CANDIDATES)
    assert all(0 <= c["val_ndcg@10"] <= 1 for c in selection["candidates"])
    best = max(selection["candidates"], key=lambda c: c["val_ndcg@10"])
    assert selection["chosen"] == best["name"] == manifest["model"]["params"]["chosen"]
    assert "rating" not in model_class(selection["chosen"]).tasks
    assert selection["chosen_params"] == manifest["model"]["params"]["chosen_params"]
    assert 0 < manifest["metrics"]["ndcg@10"] <= 1
    report = Path(out / "report.html").read_text()
    assert "Model selection" in report and "val_ndcg@10 by candidate" in report
