"""The report figures as PNG bytes, drawn with matplotlib's object API (no pyplot, no global state).

matplotlib is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.vocab import EncodedInteractions

MAX_PIXELS = 500
MAX_POINTS = 20_000
PANELS_PER_ROW = 4
DPI = 90
TRAIN_COLOUR, TEST_COLOUR, BOTH_COLOUR = "#4c78a8", "#e45756", "#8e6c8a"
BAR_COLOUR, BEST_COLOUR = "#9ecae9", "#2f8f46"


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _panels(count: int, width: float, height: float) -> tuple[Any, list[Any]]:
    """A figure with `count` axes, PANELS_PER_ROW to a row; unused slots hidden."""
    columns = min(count, PANELS_PER_ROW)
    rows = math.ceil(count / columns)
    figure = _figure(width * columns, height * rows)
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for axis in axes[count:]:
        axis.set_visible(False)
    return figure, axes[:count]


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def training_curves(epochs: Sequence[dict[str, float]], title: str) -> bytes:
    """One panel per figure, its `val_` twin on the same axes (train solid, validation dashed)."""
    from matplotlib.ticker import MaxNLocator

    names = list(dict.fromkeys(name for epoch in epochs for name in epoch))
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.removeprefix("val_"), []).append(name)
    figure, axes = _panels(len(groups), 3.4, 2.6)
    steps = np.arange(1, len(epochs) + 1)
    for axis, (base, members) in zip(axes, groups.items(), strict=True):
        for name in members:
            values = [float(epoch.get(name, np.nan)) for epoch in epochs]
            style = "--" if name.startswith("val_") else "-"
            axis.plot(steps, values, style, marker="o", markersize=3, label=name)
        axis.set_title(base, fontsize=9)
        axis.set_xlabel("epoch", fontsize=8)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.tick_params(labelsize=7)
        if len(members) > 1:
            axis.legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def embedding_heatmaps(tables: dict[str, np.ndarray], rows: int = 50, dims: int = 32) -> bytes:
    """The first `rows` x `dims` slice of each factor table, on one symmetric colour scale each."""
    figure, axes = _panels(len(tables), 4.8, 3.4)
    for axis, (name, table) in zip(axes, tables.items(), strict=True):
        values = np.asarray(table, dtype=np.float64)[:rows, :dims]
        limit = float(np.max(np.abs(values))) or 1.0
        image = axis.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(f"{name}: first {values.shape[0]} rows x {values.shape[1]} dims", fontsize=9)
        axis.set_xlabel("dimension", fontsize=8)
        axis.set_ylabel("index", fontsize=8)
        figure.colorbar(image, ax=axis)
    return _png(figure)


def item_projection(vectors: np.ndarray, genres: Sequence[str] | None) -> bytes:
    """Item vectors on their first two principal components (numpy SVD), coloured by first genre."""
    from matplotlib import colormaps

    centred = np.asarray(vectors, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    _, singular, basis = np.linalg.svd(centred, full_matrices=False)
    points = centred @ basis[:2].T
    share = singular**2 / max(float(np.sum(singular**2)), 1e-12)
    first = np.array([_first_genre(g) for g in genres] if genres else [""] * len(points))
    shown = np.linspace(0, len(points) - 1, min(len(points), MAX_POINTS)).astype(np.int64)
    points, first = points[shown], first[shown]
    palette = colormaps["tab20"]
    labels = [label for label, _ in Counter(first[first != ""]).most_common(palette.N)]
    figure = _figure(7.5, 5)
    axis = figure.subplots()
    other = ~np.isin(first, labels)
    if other.any():
        name = "(no genre)" if not labels else "(other / none)"
        axis.scatter(*points[other].T, s=6, color="lightgrey", label=name)
    for n, label in enumerate(labels):
        axis.scatter(*points[first == label].T, s=6, color=palette(n), label=label)
    axis.set_xlabel(f"PC1 ({share[0]:.0%} of variance)", fontsize=8)
    axis.set_ylabel(f"PC2 ({share[1]:.0%} of variance)", fontsize=8)
    axis.set_title(f"{len(points)} item embeddings, first two principal components", fontsize=10)
    axis.legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _png(figure)


def _first_genre(genres: object) -> str:
    return genres.split("|")[0].strip() if isinstance(genres, str) else ""


@dataclass(frozen=True)
class MatrixLayout:
    """Users (most active first) and items (most popular first) binned to at most MAX_PIXELS."""

    user_pixel: np.ndarray
    item_pixel: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, train: EncodedInteractions, n_users: int, n_items: int) -> MatrixLayout:
        rows, cols = min(MAX_PIXELS, n_users), min(MAX_PIXELS, n_items)
        activity = np.bincount(train.users, minlength=n_users)
        popularity = np.bincount(train.items, minlength=n_items)
        return cls(_pixels(activity, rows), _pixels(popularity, cols), (rows, cols))

    def counts(self, part: EncodedInteractions) -> np.ndarray:
        """Interactions of `part` falling into each pixel (shape `self.shape`)."""
        rows, cols = self.shape
        cells = self.user_pixel[part.users] * cols + self.item_pixel[part.items]
        return np.bincount(cells, minlength=rows * cols).reshape(rows, cols)


def _pixels(counts: np.ndarray, size: int) -> np.ndarray:
    """Pixel of each index when indices are ordered by descending count and binned to `size`."""
    order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank * size // max(len(order), 1)


def _matrix_axes(axis: Any, title: str) -> None:
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("items, most popular left", fontsize=8)
    axis.set_ylabel("users, most active top", fontsize=8)
    axis.set_xticks([])
    axis.set_yticks([])


def interaction_matrix(layout: MatrixLayout, train: EncodedInteractions) -> bytes:
    """Interactions per pixel on a log colour scale; empty pixels white."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import LogFormatter

    counts = layout.counts(train)
    figure = _figure(7.5, 6.2)
    axis = figure.subplots()
    cmap = colormaps["viridis"].with_extremes(bad="white")
    image = axis.imshow(
        np.ma.masked_equal(counts, 0), aspect="auto", interpolation="nearest", cmap=cmap,
        norm=LogNorm(vmin=1, vmax=max(int(counts.max()), 2)),
    )  # fmt: skip
    scale = figure.colorbar(image, ax=axis, label="interactions per pixel").ax.yaxis
    scale.set_major_formatter(LogFormatter())
    scale.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.5)))
    rows, cols = layout.shape
    _matrix_axes(axis, f"interaction matrix ({rows} x {cols} pixels)")
    return _png(figure)


def split_matrix(
    layout: MatrixLayout, train: EncodedInteractions, test: EncodedInteractions
) -> bytes:
    """Pixels holding train only, test only or both, in three colours."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    picture = (layout.counts(train) > 0) * 1 + (layout.counts(test) > 0) * 2
    colours = ["white", TRAIN_COLOUR, TEST_COLOUR, BOTH_COLOUR]
    figure = _figure(7.5, 6.2)
    axis = figure.subplots()
    axis.imshow(
        picture, aspect="auto", interpolation="nearest", cmap=ListedColormap(colours),
        vmin=0, vmax=3,
    )  # fmt: skip
    names = ["train", "test", "both"]
    handles = [Patch(color=c, label=n) for c, n in zip(colours[1:], names, strict=True)]
    axis.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    _matrix_axes(axis, f"train/test split ({len(train)} train, {len(test)} test)")
    return _png(figure)


def popularity(item_counts: np.ndarray, user_counts: np.ndarray) -> bytes:
    """Rank-frequency curves (log-log) of item popularity and user activity."""
    figure, axes = _panels(2, 4.2, 3.2)
    for axis, counts, what in zip(axes, (item_counts, user_counts), ("item", "user"), strict=True):
        ordered = np.sort(counts[counts > 0])[::-1]
        axis.loglog(np.arange(1, len(ordered) + 1), ordered, color=TRAIN_COLOUR)
        missing = int(np.sum(counts == 0))
        note = f", {missing} with none" if missing else ""
        axis.set_title(f"{what} {'popularity' if what == 'item' else 'activity'}{note}", fontsize=9)
        axis.set_xlabel(f"{what} rank", fontsize=8)
        axis.set_ylabel("interactions", fontsize=8)
    return _png(figure)


def bars(
    models: Sequence[str], series: dict[str, list[float]], title: str, lower_better: set[str]
) -> bytes:
    """One bar panel per series across models; the best bar (per `lower_better`) in green."""
    figure, axes = _panels(len(series), 3.2, 2.9)
    positions = np.arange(len(models))
    for axis, (name, values) in zip(axes, series.items(), strict=True):
        heights = np.array(values, dtype=np.float64)
        colours = [BAR_COLOUR] * len(models)
        if np.isfinite(heights).any():
            pick = np.nanargmin if name in lower_better else np.nanargmax
            colours[int(pick(heights))] = BEST_COLOUR
        drawn = axis.bar(positions, np.nan_to_num(heights), color=colours)
        labels = [f"{v:.3g}" if np.isfinite(v) else "n/a" for v in heights]
        axis.bar_label(drawn, labels=labels, fontsize=7)
        axis.margins(y=0.15)
        axis.set_xticks(positions, models, rotation=45, ha="right", fontsize=7)
        axis.set_title(f"{name} ({'lower' if name in lower_better else 'higher'} is better)",
                       fontsize=9)  # fmt: skip
        axis.tick_params(axis="y", labelsize=7)
    figure.suptitle(title, fontsize=10)
    return _png(figure)
