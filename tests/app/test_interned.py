"""Interned strings: one code per distinct string, whatever order or batch they come in."""

from __future__ import annotations

from app.serving.interned import Interned


def test_codes_of_a_batch_agree_with_one_by_one_and_make_missing_ones() -> None:
    interned = Interned()
    assert interned.code("b") == 0
    codes = interned.codes(("a", "b", "a", "c"))  # two new strings among known ones
    assert codes.tolist() == [1, 0, 1, 2] and codes.dtype.name == "int32"
    assert interned.values == ["b", "a", "c"]
    assert interned.codes(("c", "b")).tolist() == [interned.code("c"), interned.code("b")]
    assert interned.codes(()).tolist() == []
