"""The HTML reports: real matplotlib on tiny data; valid pages, decodable PNGs, graceful gaps."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from app.serving.idmap import IdMap
from training import plots
from training.models.base import ExportedModel, FitHistory
from training.report import write_evaluation_report, write_training_report
from training.vocab import EncodedInteractions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID_TAGS = {"meta", "img", "br", "hr", "link", "input"}
ML100K = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ml-100k"


class _Page(HTMLParser):
    """Checks that tags nest and close; collects h2 headings and img sources."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.headings: list[str] = []
        self.images: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        elif tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "h2":
            self.headings.append(data)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert page.doctype
    assert page.open == []
    return page


def assert_pngs(page: _Page, count: int) -> None:
    assert len(page.images) == count
    for source in page.images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG_SIGNATURE)


def encoded(n_users: int = 12, n_items: int = 9, rows: int = 60) -> EncodedInteractions:
    rng = np.random.default_rng(42)
    return EncodedInteractions(
        users=rng.integers(0, n_users, rows).astype(np.int32),
        items=rng.integers(0, n_items, rows).astype(np.int32),
        ratings=np.ones(rows, np.float32),
        timestamps=np.arange(rows, dtype=np.int64),
        user_map=IdMap(tuple(f"u{i}" for i in range(n_users))),
        item_map=IdMap(tuple(f"i{i}" for i in range(n_items))),
    )


def factor_model(data: EncodedInteractions, dims: int = 4) -> ExportedModel:
    rng = np.random.default_rng(0)
    arrays = {
        "user_factors": rng.normal(size=(data.n_users, dims)).astype(np.float32),
        "item_factors": rng.normal(size=(data.n_items, dims)).astype(np.float32),
    }
    return ExportedModel("dot", arrays)


HISTORY = FitHistory(
    [{"loss": 1.0 / e, "val_loss": 1.1 / e, "val_rmse": 1.0 - e / 10} for e in (1, 2, 3)]
)
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


def evaluation(models: dict[str, dict[str, float]]) -> dict:
    results = [
        {
            "model": name,
            "params": {"factors": 8},
            "fit_seconds": 1.0 + n,
            "recommend_seconds": 0.5 - 0.1 * n,
            "metrics": metrics,
        }
        for n, (name, metrics) in enumerate(models.items())
    ]
    return {"dataset": "tiny", "protocol": "rank", "k": 10, "seed": 42, "results": results}


def test_write_evaluation_report_highlights_best_per_metric(tmp_path: Path) -> None:
    results = evaluation(
        {
            "popularity": {"ndcg@10": 0.125, "rmse": 0.875, "auc": float("nan")},
            "mf": {"ndcg@10": 0.375, "rmse": 0.9375, "auc": 0.75},
        }
    )

    path = write_evaluation_report(
        tmp_path / "eval.html",
        results=results,
        histories={
            "mf": HISTORY,
            "popularity": FitHistory(),
            "als": FitHistory([{}, {}]),  # iterations without figures (no validation)
        },
    )

    page = parse(path)
    assert page.headings[:2] == ["Run", "Metrics (best per column highlighted)"]
    assert {"Metrics by model", "Time", "Parameters", "Training curves: mf"} <= set(page.headings)
    assert_pngs(page, 3)  # metric bars, time bars, mf curves
    best = re.findall(r"<td class=best>([^<]*)</td>", path.read_text())
    # row by row: popularity has the lower rmse and fit time; mf the higher ndcg and auc (NaN
    # ignored) and the lower recommend time
    assert best == ["0.875", "1", "0.375", "0.75", "0.4"]
    assert path.read_text().count("no per-epoch history") == 2


def test_write_evaluation_report_no_results_notes_it(tmp_path: Path) -> None:
    path = write_evaluation_report(tmp_path / "eval.html", results=evaluation({}))

    page = parse(path)
    assert page.headings == ["Run", "Metrics"]
    assert_pngs(page, 0)
    assert "no model results" in path.read_text()


def test_matrix_layout_puts_most_active_first_and_keeps_every_interaction() -> None:
    data = encoded(n_users=3, n_items=2, rows=0)
    data = EncodedInteractions(
        users=np.array([2, 2, 2, 0, 1, 1], np.int32),
        items=np.array([1, 1, 0, 1, 1, 0], np.int32),
        ratings=np.ones(6, np.float32),
        timestamps=np.zeros(6, np.int64),
        user_map=data.user_map,
        item_map=data.item_map,
    )

    counts = plots.MatrixLayout.of(data, data.n_users, data.n_items).counts(data)

    # rows: user 2 (3), user 1 (2), user 0 (1); columns: item 1 (4), item 0 (2)
    assert counts.tolist() == [[2, 1], [1, 1], [1, 0]]


def test_matrix_layout_large_data_caps_pixels() -> None:
    data = encoded(n_users=1200, n_items=700, rows=5000)

    layout = plots.MatrixLayout.of(data, data.n_users, data.n_items)

    assert layout.shape == (plots.MAX_PIXELS, plots.MAX_PIXELS)
    assert layout.counts(data).sum() == len(data)


def test_import_report_does_not_import_matplotlib() -> None:
    code = "import sys, training.report; print('matplotlib' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


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
