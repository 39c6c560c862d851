"""Training and evaluation reports: one self-contained HTML page each (inline CSS, PNG data URIs).

Figures come from `training.plots`, which imports matplotlib lazily, so importing this is cheap.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training import plots
from training.models.base import ExportedModel, FitHistory
from training.vocab import EncodedInteractions

log = logging.getLogger(__name__)

FACTOR_TABLES = ("user_factors", "item_factors")
_STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.4}h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{padding:4px 10px;border:1px solid #ddd}
td{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
td:first-child{text-align:left}.best{font-weight:bold;background:#dff0df}
img{max-width:100%;height:auto}.note{color:#777;font-style:italic}"""

Section = tuple[str, str]


def _lower_is_better(name: str) -> bool:
    return name in ("rmse", "mae", "loss") or name.endswith(("seconds", "_loss"))


def _img(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _number(value: Any) -> float | None:
    """`value` as a finite float, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}" if math.isfinite(value) else "n/a"
    if isinstance(value, dict | list):
        return html.escape(json.dumps(value))
    return html.escape(str(value))


def _table(rows: Sequence[dict[str, Any]], *, highlight: bool = False) -> str:
    """An HTML table of `rows` (columns in first-seen order); best numeric cells marked."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    if not columns:
        return _note("nothing recorded")
    best: dict[str, float] = {}
    for column in columns[1:] if highlight and len(rows) > 1 else []:
        values = [v for v in (_number(row.get(column)) for row in rows) if v is not None]
        if values:
            best[column] = min(values) if _lower_is_better(column) else max(values)
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            marked = column in best and _number(value) == best[column]
            cells.append(f"<td{' class=best' if marked else ''}>{_cell(value)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _curves(history: FitHistory | None, title: str) -> str:
    if history is None or not any(history.epochs):
        return _note(f"{title}: no per-epoch history (not an iterative model)")
    return _img(plots.training_curves(history.epochs, title), f"training curves of {title}")


def _page(title: str, sections: Sequence[Section]) -> str:
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{content}" for h, content in sections)
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _write(path: Path, title: str, sections: Sequence[Section]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page(title, sections), encoding="utf-8")
    log.info("report written to %s", path)
    return path


def _data_sizes(train: EncodedInteractions, test: EncodedInteractions | None) -> dict[str, Any]:
    cells = max(train.n_users * train.n_items, 1)
    sizes: dict[str, Any] = {
        "users": train.n_users,
        "items": train.n_items,
        "interactions": len(train),
        "density": len(train) / cells,
    }
    return sizes if test is None else sizes | {"test interactions": len(test)}


def _embedding_sections(
    arrays: dict[str, np.ndarray], item_genres: list[str] | None
) -> list[Section]:
    tables = {n: arrays[n] for n in FACTOR_TABLES if n in arrays and np.ndim(arrays[n]) == 2}
    if not tables:
        note = _note("this model exports no user/item factor tables")
        return [("Embedding tables", note)]
    sections = [("Embedding tables", _img(plots.embedding_heatmaps(tables), "factor heatmaps"))]
    items = tables.get("item_factors")
    if items is None or items.shape[1] < 2 or items.shape[0] < 2:
        sections.append(("Item embeddings", _note("no item factor table of 2+ dimensions")))
        return sections
    if item_genres is not None and len(item_genres) != items.shape[0]:
        log.warning(
            "item_genres has %d entries for %d items; colouring without genres",
            len(item_genres), items.shape[0],
        )  # fmt: skip
        item_genres = None
    picture = plots.item_projection(items, item_genres)
    sections.append(("Item embeddings", _img(picture, "item embeddings, PCA")))
    return sections


def _matrix_sections(train: EncodedInteractions, test: EncodedInteractions | None) -> list[Section]:
    n_users = max(train.n_users, test.n_users if test is not None else 0)
    n_items = max(train.n_items, test.n_items if test is not None else 0)
    if len(train) == 0:
        return [("Interaction matrix", _note("no training interactions"))]
    layout = plots.MatrixLayout.of(train, n_users, n_items)
    matrix = _img(plots.interaction_matrix(layout, train), "interaction matrix")
    if test is None or len(test) == 0:
        split = _note("no test part given")
    else:
        split = _img(plots.split_matrix(layout, train, test), "train/test split")
    counts = (
        np.bincount(train.items, minlength=n_items),
        np.bincount(train.users, minlength=n_users),
    )
    return [
        ("Interaction matrix", matrix),
        ("Train/test split", split),
        ("Item popularity", _img(plots.popularity(*counts), "item popularity, log-log")),
    ]


def _candidate_note(candidate: dict[str, Any]) -> str:
    """Why a candidate was not scored or not served: skipped, failed, or failed to refit."""
    for key in ("skipped", "failed", "refit_failed"):
        if key in candidate:
            return f"{key.replace('_', ' ')}: {candidate[key]}"
    return ""


def _selection_section(selection: dict[str, Any]) -> Section:
    """The candidates a validation-selected model (`auto`) compared: a table and a bar chart
    of their validation scores, the chosen one marked."""
    metric = selection["metric"]
    rows = [
        {"candidate": c["name"], metric: c.get(metric), "fit_seconds": c.get("fit_seconds"),
         "chosen": "yes" if c["name"] == selection["chosen"] else "",
         "note": _candidate_note(c)}
        for c in selection["candidates"]
    ]  # fmt: skip
    content = _note(f"chosen: {selection['chosen']}, by {metric} on {selection['validation']}")
    content += _table(rows)
    scores = [_or_nan(_number(row[metric])) for row in rows]
    if any(math.isfinite(score) for score in scores):
        names = [row["candidate"] for row in rows]
        chart = plots.bars(names, {metric: scores}, "candidates on validation", set())
        content += _img(chart, f"{metric} by candidate")
    return ("Model selection", content)


def write_training_report(
    path: Path,
    *,
    model_name: str,
    history: FitHistory,
    metrics: dict[str, float],
    exported: ExportedModel,
    train: EncodedInteractions,
    test: EncodedInteractions | None = None,
    item_genres: list[str] | None = None,
    params: dict | None = None,
    selection: dict[str, Any] | None = None,
) -> Path:
    """Write the report of one trained model to `path`: tables, curves, embeddings, data shape;
    with `selection`, the candidates it was chosen among."""
    metric_note = _note("no holdout metrics recorded")
    sections: list[Section] = [
        ("Model", _table([{"model": model_name, "scorer": exported.kind, **(params or {})}])),
        *([_selection_section(selection)] if selection is not None else []),
        ("Data", _table([_data_sizes(train, test)])),
        ("Metrics", _table([dict(metrics)]) if metrics else metric_note),
        ("Training curves", _curves(history, model_name)),
        *_embedding_sections(exported.arrays, item_genres),
        *_matrix_sections(train, test),
    ]
    return _write(path, f"RecoServe training report: {model_name}", sections)


def write_evaluation_report(
    path: Path, *, results: dict, histories: dict[str, FitHistory] | None = None
) -> Path:
    """Write the side-by-side report of one `reco evaluate` run (PROTOCOLS.md JSON) to `path`."""
    runs: list[dict[str, Any]] = list(results.get("results", []))
    run = {key: results.get(key, "") for key in ("dataset", "protocol", "k", "seed")}
    sections: list[Section] = [("Run", _table([run]))]
    if not runs:
        sections.append(("Metrics", _note("no model results in this run")))
    else:
        timings = ("fit_seconds", "recommend_seconds")
        rows = [{"model": r["model"], **r.get("metrics", {})} | {t: r.get(t) for t in timings}
                for r in runs]  # fmt: skip
        models = [str(r["model"]) for r in runs]
        names = list(dict.fromkeys(m for r in runs for m in r.get("metrics", {})))
        lower = {name for name in [*names, *timings] if _lower_is_better(name)}

        def series(columns: Sequence[str]) -> dict[str, list[float]]:
            return {c: [_or_nan(_number(row.get(c))) for row in rows] for c in columns}

        sections.append(("Metrics (best per column highlighted)", _table(rows, highlight=True)))
        if names:
            chart = plots.bars(models, series(names), "metrics by model", lower)
            sections.append(("Metrics by model", _img(chart, "metric bars")))
        chart = plots.bars(models, series(timings), "wall-clock seconds", lower)
        sections.append(("Time", _img(chart, "time bars")))
        params = [{"model": r["model"], "params": r.get("params", {})} for r in runs]
        sections.append(("Parameters", _table(params)))
    for name, history in (histories or {}).items():
        sections.append((f"Training curves: {name}", _curves(history, name)))
    title = f"RecoServe evaluation: {run['protocol']} on {run['dataset']}"
    return _write(path, title, sections)
