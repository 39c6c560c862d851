"""Training and evaluation reports: one self-contained HTML page of pictures and tables.

matplotlib is imported lazily (Agg backend) so importing this module stays cheap.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from training.models.base import ExportedModel, FitHistory
from training.vocab import EncodedInteractions

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:4px 10px;border:1px solid #ddd;text-align:right}
th{background:#f4f4f4}.best{font-weight:bold;background:#e7f5e7}img{max-width:100%}
.note{color:#777}"""
MAX_PIXELS = 400


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _plt().close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img src="data:image/png;base64,{encoded}">'


def _table(rows: list[dict[str, Any]], highlight: bool = False) -> str:
    if not rows:
        return '<p class="note">nothing to show</p>'
    columns = list(dict.fromkeys(c for row in rows for c in row))
    best: dict[str, float] = {}
    if highlight:
        for column in columns[1:]:
            values = [r[column] for r in rows if isinstance(r.get(column), float)]
            if values:
                lower_is_better = column in ("rmse", "mae") or column.endswith("seconds")
                best[column] = min(values) if lower_is_better else max(values)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            css = ' class="best"' if column in best and value == best[column] else ""
            text = f"{value:.4f}" if isinstance(value, float) else html.escape(str(value))
            cells.append(f"<td{css}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _curves(history: FitHistory, title: str) -> str:
    if not history.epochs:
        return f'<p class="note">{html.escape(title)}: not an iterative model, no curves</p>'
    plt = _plt()
    names = list(dict.fromkeys(k for epoch in history.epochs for k in epoch))
    figure, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.6), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        axis.plot([e.get(name, np.nan) for e in history.epochs], marker="o", markersize=3)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("epoch", fontsize=8)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def _heatmaps(arrays: dict[str, np.ndarray]) -> str:
    tables = [n for n in ("user_factors", "item_factors") if n in arrays]
    if not tables:
        return '<p class="note">this model has no embedding tables</p>'
    plt = _plt()
    figure, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 3.2), squeeze=False)
    for axis, name in zip(axes[0], tables, strict=True):
        values = arrays[name][:60, :32]
        image = axis.imshow(values, aspect="auto", cmap="RdBu_r")
        axis.set_title(
            f"{name} (first {values.shape[0]} rows x {values.shape[1]} dims)", fontsize=9
        )
        figure.colorbar(image, ax=axis)
    return _png(figure)


def _projection(arrays: dict[str, np.ndarray], genres: list[str] | None) -> str:
    vectors = arrays.get("item_factors")
    if vectors is None or vectors.shape[1] < 2:
        return '<p class="note">no item embeddings to project</p>'
    centred = vectors - vectors.mean(axis=0)
    _, _, basis = np.linalg.svd(centred, full_matrices=False)
    points = centred @ basis[:2].T
    first = [g.split("|")[0] if g else "" for g in (genres or [""] * len(points))]
    plt = _plt()
    figure, axis = plt.subplots(figsize=(7, 5))
    labels = sorted({g for g in first if g})
    colours = plt.get_cmap("tab20")
    mask = np.array([g == "" for g in first])
    if mask.any():
        axis.scatter(*points[mask].T, s=6, c="lightgrey", label="(no genre)")
    for n, label in enumerate(labels):
        chosen = np.array([g == label for g in first])
        axis.scatter(*points[chosen].T, s=6, color=colours(n % 20), label=label)
    axis.set_title("item embeddings, first two principal components", fontsize=10)
    if labels:
        axis.legend(fontsize=6, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    return _png(figure)


def _matrix(train: EncodedInteractions, test: EncodedInteractions | None) -> str:
    """Users x items (most active first), downsampled; train and test cells in two colours."""
    users = np.argsort(-np.bincount(train.users, minlength=train.n_users), kind="stable")
    items = np.argsort(-train.item_counts(), kind="stable")
    user_rank, item_rank = np.empty_like(users), np.empty_like(items)
    user_rank[users], item_rank[items] = np.arange(len(users)), np.arange(len(items))
    rows, cols = min(MAX_PIXELS, train.n_users), min(MAX_PIXELS, train.n_items)
    picture = np.zeros((rows, cols))
    for value, part in ((1.0, train), (2.0, test)):
        if part is None or len(part) == 0:
            continue
        r = user_rank[part.users] * rows // train.n_users
        c = item_rank[part.items] * cols // train.n_items
        picture[r, c] = value
    plt = _plt()
    figure, axis = plt.subplots(figsize=(6, 4.5))
    cmap = plt.matplotlib.colors.ListedColormap(["white", "#1f77b4", "#d62728"])
    axis.imshow(picture, aspect="auto", cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
    split = "blue train, red test" if test is not None else "blue: interactions"
    axis.set_title(f"interaction matrix, users x items by activity ({split})", fontsize=9)
    axis.set_xlabel("items (most popular left)")
    axis.set_ylabel("users (most active top)")
    return _png(figure)


def _popularity(train: EncodedInteractions) -> str:
    counts = np.sort(train.item_counts())[::-1]
    plt = _plt()
    figure, axis = plt.subplots(figsize=(5, 3.2))
    axis.loglog(np.arange(1, len(counts) + 1), np.maximum(counts, 1))
    axis.set_title("item popularity (log-log)", fontsize=10)
    axis.set_xlabel("item rank")
    axis.set_ylabel("interactions")
    return _png(figure)


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


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
) -> Path:
    """Write the report of one trained model to `path` (HTML with embedded PNGs)."""
    sizes = {"users": train.n_users, "items": train.n_items, "interactions": len(train)}
    sections = [
        ("Model", _table([{"model": model_name, **(params or {})}])),
        ("Data", _table([sizes])),
        ("Holdout metrics", _table([{k: float(v) for k, v in metrics.items()}])),
        ("Training curves", _curves(history, model_name)),
        ("Embedding tables", _heatmaps(exported.arrays)),
        ("Item embeddings by genre", _projection(exported.arrays, item_genres)),
        ("Interaction matrix", _matrix(train, test)),
        ("Item popularity", _popularity(train)),
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page(f"RecoServe training report: {model_name}", sections))
    return path


def _bars(results: list[dict[str, Any]], names: list[str], title: str) -> str:
    plt = _plt()
    figure, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 2.8), squeeze=False)
    models = [r["model"] for r in results]
    for axis, name in zip(axes[0], names, strict=True):
        values = [r["metrics"].get(name, r.get(name, np.nan)) for r in results]
        axis.bar(models, values, color="#4c78a8")
        axis.set_title(name, fontsize=9)
        axis.tick_params(axis="x", labelrotation=60, labelsize=7)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def write_evaluation_report(
    path: Path, *, results: dict, histories: dict[str, FitHistory] | None = None
) -> Path:
    """Write the side-by-side report of one `reco evaluate` run to `path`."""
    rows = [
        {
            "model": r["model"],
            **r["metrics"],
            "fit_seconds": float(r["fit_seconds"]),
            "recommend_seconds": float(r["recommend_seconds"]),
        }
        for r in results["results"]
    ]
    metric_names = list(dict.fromkeys(m for r in results["results"] for m in r["metrics"]))
    sections = [
        ("Run", _table([{k: results.get(k) for k in ("dataset", "protocol", "k", "seed")}])),
        ("Metrics (best in green)", _table(rows, highlight=True)),
    ]
    if results["results"]:
        sections += [
            ("Metrics by model", _bars(results["results"], metric_names, "metrics")),
            ("Time", _bars(results["results"], ["fit_seconds", "recommend_seconds"], "seconds")),
        ]
    for name, history in (histories or {}).items():
        sections.append((f"Training curves: {name}", _curves(history, name)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"RecoServe evaluation: {results.get('protocol')} on {results.get('dataset')}"
    path.write_text(_page(title, sections))
    return path
