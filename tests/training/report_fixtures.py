"""Helpers of the report tests: an HTML checker for the written pages and tiny fitted data."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from app.serving.idmap import IdMap
from training.models.base import ExportedModel, FitHistory
from training.vocab import EncodedInteractions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID_TAGS = {"meta", "img", "br", "hr", "link", "input"}
HISTORY = FitHistory(
    [{"loss": 1.0 / e, "val_loss": 1.1 / e, "val_rmse": 1.0 - e / 10} for e in (1, 2, 3)]
)


class Page(HTMLParser):
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


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert page.doctype
    assert page.open == []
    return page


def assert_pngs(page: Page, count: int) -> None:
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
