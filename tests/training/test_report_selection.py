"""The training report of a validation-selected model (`auto`): a "Model selection" section
with every candidate's score, the choice, and why any candidate was not scored or served."""

from __future__ import annotations

from pathlib import Path

from tests.training.report_fixtures import encoded, factor_model, parse
from training.models.base import FitHistory
from training.report import write_training_report

SELECTION = {
    "metric": "val_ndcg@10",
    "validation": {"fraction": 0.1, "fit_rows": 54, "validation_rows": 6},
    "candidates": [
        {"name": "als", "val_ndcg@10": 0.31, "fit_seconds": 1.2},
        {"name": "imf", "val_ndcg@10": 0.35, "fit_seconds": 2.8, "refit_failed": "no negatives"},
        {"name": "ease", "skipped": "over ease_memory_mb=1"},
        {"name": "bpr", "failed": "bad data"},
    ],
    "chosen": "als",
}


def test_training_report_shows_the_candidates_and_the_choice(tmp_path: Path) -> None:
    data = encoded()
    path = write_training_report(
        tmp_path / "report.html", model_name="auto", history=FitHistory(), metrics={},
        exported=factor_model(data), train=data, selection=SELECTION,
    )  # fmt: skip
    page = parse(path)
    assert page.headings[:2] == ["Model", "Model selection"]
    text = path.read_text()
    assert "0.35" in text and "refit failed: no negatives" in text
    assert "skipped: over ease_memory_mb=1" in text and "failed: bad data" in text
    assert "val_ndcg@10 by candidate" in text  # the bar chart


def test_training_report_without_selection_has_no_selection_section(tmp_path: Path) -> None:
    data = encoded()
    path = write_training_report(
        tmp_path / "report.html", model_name="als", history=FitHistory(), metrics={},
        exported=factor_model(data), train=data,
    )  # fmt: skip
    assert "Model selection" not in parse(path).headings
