import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.serving.bundle import BundleError, load_bundle
from app.serving.state import ModelState
from training.export import export_bundle, new_bundle_dir
from training.models.base import create_model, model_class
from training.vocab import EncodedInteractions


@pytest.fixture
def bundle_dir(tmp_path, blocks) -> Path:
    encoded = EncodedInteractions.encode(blocks)
    model = create_model("popularity")
    model.fit(encoded)
    return export_bundle(
        model,
        encoded,
        out_dir=new_bundle_dir(tmp_path, "popularity"),
        dataset_name="blocks",
        dataset_fingerprint=blocks.fingerprint(),
        items=blocks.items,
        metrics={"ndcg@10": 0.5},
    )


def test_bundle_round_trip(bundle_dir):
    bundle = load_bundle(bundle_dir)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert bundle.model_name == "popularity" and bundle.metrics == {"ndcg@10": 0.5}
    assert manifest["format_version"] == 1
    assert manifest["dataset"]["n_items"] == len(bundle.item_map)
    assert set(manifest["files"]) >= {"item_scores.npy", "popularity.npy", "users.json"}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert bundle.item_titles[bundle.item_map.get("3")] == "Item 3"
    assert not any(p.name.startswith(".tmp") for p in bundle_dir.parent.iterdir())
    assert "selection" not in manifest  # only a model chosen on validation has one


def _copy(bundle_dir: Path) -> Path:
    copy = bundle_dir.parent / f"{bundle_dir.name}-copy"
    shutil.copytree(bundle_dir, copy)
    return copy


def test_bundle_with_altered_array_is_refused(bundle_dir):
    copy = _copy(bundle_dir)
    array = np.load(copy / "item_scores.npy")
    np.save(copy / "item_scores.npy", array + 1)
    with pytest.raises(BundleError, match=r"item_scores\.npy: sha256"):
        load_bundle(copy)


def test_bundle_with_truncated_array_is_refused(bundle_dir):
    copy = _copy(bundle_dir)
    data = (copy / "popularity.npy").read_bytes()
    (copy / "popularity.npy").write_bytes(data[:-8])
    with pytest.raises(BundleError, match=r"popularity\.npy"):
        load_bundle(copy)


def test_bundle_with_missing_file_is_refused(bundle_dir):
    copy = _copy(bundle_dir)
    (copy / "item_scores.npy").unlink()
    with pytest.raises(BundleError, match=r"item_scores\.npy: missing"):
        load_bundle(copy)


def test_bundle_with_wrong_shape_in_manifest_is_refused(bundle_dir):
    copy = _copy(bundle_dir)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["item_scores.npy"]["shape"] = [3]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="differs from the manifest"):
        load_bundle(copy)


def test_bundle_with_unknown_format_version_is_refused(bundle_dir):
    copy = _copy(bundle_dir)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="unknown format_version 99"):
        load_bundle(copy)


def test_newest_bundle_skips_a_damaged_newer_one(bundle_dir):
    newer = bundle_dir.parent / "29990101T000000000000Z-popularity"
    shutil.copytree(bundle_dir, newer)
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["created_at"] = "2999-01-01T00:00:00+00:00"
    manifest["version"] = newer.name
    (newer / "manifest.json").write_text(json.dumps(manifest))
    np.save(newer / "item_scores.npy", np.zeros(19, np.float32))
    state = ModelState()
    state.load_startup(bundle_dir.parent)
    assert state.active_version == bundle_dir.name


def test_bundle_folder_name_with_traversal_is_refused(tmp_path):
    with pytest.raises(BundleError):
        load_bundle(tmp_path / "..")


def test_unknown_model_name_lists_choices():
    with pytest.raises(ValueError, match=r"unknown model .bprr.; choose one of: .*mf"):
        model_class("bprr")


def test_auto_bundle_records_its_selection_in_manifest_and_report(tmp_path, blocks):
    from training.pipeline import train_and_export

    candidates = ("popularity", "als", "ease")
    make = lambda: create_model("auto", candidates=candidates)  # noqa: E731
    bundle = train_and_export(make, blocks, new_bundle_dir(tmp_path, "auto"), holdout=False).bundle
    manifest = json.loads((bundle / "manifest.json").read_text())
    selection = manifest["selection"]
    assert [c["name"] for c in selection["candidates"]] == list(candidates)
    assert all("val_ndcg@10" in c and "fit_seconds" in c for c in selection["candidates"])
    params = manifest["model"]["params"]
    assert manifest["model"]["name"] == "auto" and params["candidates"] == list(candidates)
    assert params["chosen"] == selection["chosen"] in candidates
    assert params["chosen_params"] == selection["chosen_params"]
    report = (bundle / "report.html").read_text()
    assert "Model selection" in report and "val_ndcg@10 by candidate" in report
