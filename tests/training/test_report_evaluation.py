"""The evaluation report of `reco evaluate`, the interaction-matrix layout, and the report
module's light import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.training.report_fixtures import HISTORY, assert_pngs, encoded, parse
from training import plots
from training.models.base import FitHistory
from training.report import write_evaluation_report
from training.vocab import EncodedInteractions


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
