"""The training report (report.html of a bundle): sections, pictures, and the gaps it notes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.training.report_fixtures import HISTORY, assert_pngs, encoded, factor_model, parse
from training import plots
from training.models.base import ExportedModel, FitHistory
from training.report import write_training_report
from training.vocab import EncodedInteractions

ML100K = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ml-100k"


TRAINING_SECTIONS = [
    "Model",
    "Data",
    "Metrics",
    "Training curves",
    "Embedding tables",
    "Item embeddings",
    "Interaction matrix",
    "Train/test split",
    "Item popularity",
]


def test_write_training_report_full_has_every_section_and_picture(tmp_path: Path) -> None:
    data = encoded()
    train, test = data.subset(np.arange(45)), data.subset(np.arange(45, 60))
    genres = ["Action|Drama", "Comedy", "", "Drama", "Action", "Comedy", "Drama", "", "Horror"]

    path = write_training_report(
        tmp_path / "out" / "report.html",
        model_name="mf",
        history=HISTORY,
        metrics={"rmse": 0.91, "ndcg@10": 0.25},
        exported=factor_model(data),
        train=train,
        test=test,
        item_genres=genres,
        params={"factors": 4, "l2": 0.01},
    )

    page = parse(path)
    assert page.headings == TRAINING_SECTIONS
    assert_pngs(page, 6)  # curves, heatmaps, projection, matrix, split, popularity
    text = path.read_text()
    assert "mf" in text and "0.91" in text and "factors" in text
    assert "<table>" in text and "<style>" in text
    assert "http://" not in text and "https://" not in text  # self-contained


def test_write_training_report_without_factors_history_or_test_notes_gaps(
    tmp_path: Path,
) -> None:
    data = encoded()
    popularity = ExportedModel("popularity", {"item_scores": np.ones(data.n_items, np.float32)})

    path = write_training_report(
        tmp_path / "report.html",
        model_name="popularity",
        history=FitHistory(),
        metrics={},
        exported=popularity,
        train=data,
    )

    page = parse(path)
    assert "Interaction matrix" in page.headings and "Item popularity" in page.headings
    assert_pngs(page, 2)  # interaction matrix, popularity
    text = path.read_text()
    assert "exports no user/item factor tables" in text
    assert "no test part given" in text
    assert "no per-epoch history" in text
    assert "no holdout metrics" in text


def test_write_training_report_genre_count_mismatch_still_projects(tmp_path: Path) -> None:
    data = encoded()

    path = write_training_report(
        tmp_path / "report.html",
        model_name="mf",
        history=HISTORY,
        metrics={"auc": 0.5},
        exported=factor_model(data),
        train=data,
        item_genres=["Drama"],
    )

    page = parse(path)
    assert "Item embeddings" in page.headings
    assert_pngs(page, 5)


def test_write_training_report_one_dimensional_factors_skip_projection(tmp_path: Path) -> None:
    data = encoded()

    path = write_training_report(
        tmp_path / "report.html",
        model_name="mf",
        history=HISTORY,
        metrics={},
        exported=factor_model(data, dims=1),
        train=data,
    )

    assert "no item factor table of 2+ dimensions" in path.read_text()
    assert_pngs(parse(path), 4)  # curves, heatmaps, matrix, popularity


@pytest.mark.slow
@pytest.mark.skipif(not (ML100K / "u.data").is_file(), reason=f"MovieLens 100K not at {ML100K}")
def test_write_training_report_ml100k_renders_quickly(tmp_path: Path) -> None:
    from training.datasets.movielens import load_movielens
    from training.interactions import Interactions

    data: Interactions = load_movielens(ML100K)
    everything = EncodedInteractions.encode(data)
    test_rows = np.random.default_rng(42).random(len(everything)) < 0.2
    train, test = everything.subset(~test_rows), everything.subset(test_rows)
    genres = dict(zip(data.items["item"], data.items["genres"], strict=True))
    plots.training_curves(HISTORY.epochs, "warm-up")  # import matplotlib outside the timing

    start = time.perf_counter()
    path = write_training_report(
        tmp_path / "report.html",
        model_name="mf",
        history=HISTORY,
        metrics={"rmse": 0.9},
        exported=factor_model(everything, dims=32),
        train=train,
        test=test,
        item_genres=[genres.get(i, "") for i in everything.item_map.ids],
    )
    seconds = time.perf_counter() - start

    assert_pngs(parse(path), 6)
    assert seconds < 10, f"training report took {seconds:.1f}s"
