"""`reco import` streams: chunks of rows, the store's fast path, the same rows as one batch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from app.store.session import create_store_engine, init_schema
from app.store.tables import Interaction, Item, User
from training.datasets.movielens import movielens_stream
from training.datasets.synthetic import make_synthetic
from training.datasets.tabular import load_table, table_stream
from training.importer import import_interactions, import_stream
from training.interactions import DatasetError


def _engine(url: str):
    engine = create_store_engine(url)
    init_schema(engine)
    return engine


def _rows(engine) -> list[tuple]:
    """Every stored interaction as (user, item, value, kind, timestamp, source), sorted."""
    query = (
        select(User.external_id, Item.external_id, Interaction.value, Interaction.kind,
               Interaction.timestamp, Interaction.source)
        .join(User, Interaction.user_id == User.id)
        .join(Item, Interaction.item_id == Item.id)
    )  # fmt: skip
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(query))


def _import(engine, path: Path, chunk_rows: int, **options):
    return import_stream(engine, table_stream(path, **options), chunk_rows=chunk_rows,
                         progress=False)  # fmt: skip


@pytest.fixture
def events(tmp_path: Path) -> Path:
    """An implicit log with a kind column: clicks and plays without values, ratings with."""
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2", "u3", "u3", "u1"],
            "item_id": ["a", "b", "a", "c", "b", "c", "c"],
            "event": ["click", "Play", "rating", "purchase", "click", "rating", "click"],
            "value": ["", "", "4", "", "2.5", "5", "3"],
            "ts": ["1700000000", "1700000001", "2024-01-01T00:00:00Z", "1700000003000",
                   "1700000004", "1700000005", "1700000006"],
        }
    )  # fmt: skip
    path = tmp_path / "events.csv"
    frame.to_csv(path, index=False)
    return path


def test_import_chunked_equals_one_batch(store_url, tmp_path):
    data = make_synthetic(40, 60, 900, seed=3)
    path = tmp_path / "ratings.csv"
    data.frame.drop(columns="is_rating").to_csv(path, index=False)
    streamed = _engine(store_url)
    report = _import(streamed, path, chunk_rows=128)
    assert (report.rows, report.new_interactions, report.users) == (900, 900, 40)
    batch = _engine(f"sqlite:///{tmp_path / 'batch.db'}")
    import_interactions(batch, data, progress=False)
    assert _rows(streamed) == _rows(batch)
    assert {row[3] for row in _rows(streamed)} == {"rating"}


def test_import_kind_column_and_values_per_kind(store_url, events):
    engine = _engine(store_url)
    _import(engine, events, chunk_rows=3)
    assert _rows(engine) == [
        ("u1", "a", 1.0, "click", 1700000000.0, "import"),
        ("u1", "b", 1.0, "play", 1700000001.0, "import"),
        ("u1", "c", 3.0, "click", 1700000006.0, "import"),
        ("u2", "a", 4.0, "rating", 1704067200.0, "import"),
        ("u2", "c", 1.0, "purchase", 1700000003.0, "import"),
        ("u3", "b", 2.5, "click", 1700000004.0, "import"),
        ("u3", "c", 5.0, "rating", 1700000005.0, "import"),
    ]
    training = load_table(events)  # training reads the same file the same way
    assert training.frame["is_rating"].tolist() == [False, False, True, False, False, True, False]


def test_reimport_adds_nothing_in_either_path(store_url, events):
    engine = _engine(store_url)
    first = _import(engine, events, chunk_rows=2)  # into an empty table: indexes rebuilt
    again = _import(engine, events, chunk_rows=2)  # into a table with rows: ON CONFLICT
    assert (first.new_interactions, again.new_interactions) == (7, 0)
    assert len(_rows(engine)) == 7


@pytest.mark.parametrize("before", [0, 1], ids=["empty-table", "table-with-rows"])
def test_duplicates_across_chunk_boundaries_stored_once(store_url, tmp_path, before):
    engine = _engine(store_url)
    if before:
        import_interactions(engine, make_synthetic(5, 5, 10, seed=1), progress=False)
    lines = ["user,item,kind,timestamp"] + [f"u{n % 4},i{n % 5},click,{n % 6}" for n in range(60)]
    path = tmp_path / "dupes.csv"
    path.write_text("\n".join(lines) + "\n")
    report = _import(engine, path, chunk_rows=7)
    distinct = {line for line in lines[1:]}
    assert report.rows == 60 and report.new_interactions == len(distinct)
    assert len(_rows(engine)) == len(distinct) + 10 * before


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("u9,a,rating,,5", "events.csv, line 16: rating is not a number: ''"),
        ("u9,a,Bad Kind!,1,5", "events.csv, line 16: kind 'bad kind!' is not a kind"),
        ("u9,a,click,1,yesterday", "events.csv, line 16: timestamp is not a time: 'yesterday'"),
        (" ,a,click,1,5", "events.csv, line 16: empty user id"),
        ("u/9,a,click,1,5", "events.csv, line 16: 1 user id(s) break the rule"),
        ("u9,a,click,1,5,extra", "events.csv, line 16: wrong number of fields"),
    ],
)
def test_bad_row_in_a_later_chunk_names_its_line_and_writes_nothing(
    store_url, events, cells, message
):
    engine = _engine(store_url)
    _import(engine, events, chunk_rows=3)
    lines = events.read_text().splitlines()  # header + 7 rows, twice: every row a duplicate
    bad = events.with_name("events.csv")
    bad.write_text("\n".join(lines + lines[1:] + [cells] + lines[1:]) + "\n")
    before = _rows(engine)
    with pytest.raises(DatasetError) as error:
        _import(engine, bad, chunk_rows=3)
    assert str(error.value).startswith(str(bad.parent / message))
    assert _rows(engine) == before


def test_first_import_refused_midway_leaves_the_store_empty(tmp_path, events):
    engine = _engine(f"sqlite:///{tmp_path / 'store.db'}")
    lines = events.read_text().splitlines()
    events.write_text("\n".join(lines * 1 + ["u9,a,click,x,5"]) + "\n")
    with pytest.raises(DatasetError, match="line 9: rating is not a number: 'x'"):
        _import(engine, events, chunk_rows=2)
    assert _rows(engine) == []
    with engine.connect() as connection:  # the dropped indexes are back
        names = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='index'")
        assert "uq_imported_interaction" in {name for (name,) in names}


def test_parquet_and_jsonl_stream_in_chunks(store_url, tmp_path, events):
    frame = pd.read_csv(events, dtype=str, keep_default_na=False)
    frame.to_parquet(tmp_path / "events.parquet")
    frame.to_json(tmp_path / "events.jsonl", orient="records", lines=True)
    expected = _rows(_imported(f"sqlite:///{tmp_path / 'csv.db'}", events))
    for name in ("events.parquet", "events.jsonl"):
        engine = _engine(store_url)
        _import(engine, tmp_path / name, chunk_rows=2)
        assert _rows(engine) == expected, name
        with engine.begin() as connection:
            connection.execute(Interaction.__table__.delete())


def _imported(url: str, path: Path):
    engine = _engine(url)
    _import(engine, path, chunk_rows=1000)
    return engine


@pytest.mark.parametrize("layout", ["u.data", "ratings.dat"])
def test_movielens_layouts_stream(tmp_path, layout):
    sep = "\t" if layout == "u.data" else "::"
    rows = [("1", "10", "4", "881250949"), ("2", "10", "5", "891717742"), ("1", "20", "3", "5")]
    (tmp_path / layout).write_text("".join(sep.join(row) + "\n" for row in rows))
    engine = _engine(f"sqlite:///{tmp_path / 'store.db'}")
    report = import_stream(engine, movielens_stream(tmp_path), chunk_rows=2, progress=False)
    assert report.new_interactions == 3
    assert _rows(engine)[0] == ("1", "10", 4.0, "rating", 881250949.0, "import")


def test_cli_import_prints_counts(tmp_path, events):
    import subprocess

    url = f"sqlite:///{tmp_path / 'store.db'}"
    command = [sys.executable, "-m", "training", "import", str(events), "--chunk-rows", "2",
               "--no-progress", "--database-url", url]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "7 rows, 7 new, 3 users, 3 items" in result.stdout


@pytest.mark.parametrize(
    "external", [".", "..", "...", ".a", "a" * 128, "a" * 129, "\x7f", "\x85", "é", "😀" * 128,
                 "😀" * 129, "a,b", "x/y", "a b", "ab"],
)  # fmt: skip
def test_import_id_check_agrees_with_the_api_rule(tmp_path, external):
    """The importer checks new ids with the rule's pattern in Arrow: the same verdicts (ids
    are stripped first, as cells of a file, so U+0085 leaves an empty id)."""
    from app.ids import is_valid_id

    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"user": external, "item": "i"}) + "\n")
    engine = _engine(f"sqlite:///{tmp_path / 'store.db'}")
    if is_valid_id(external):
        assert _import(engine, path, chunk_rows=10).new_interactions == 1
    else:
        with pytest.raises(DatasetError, match=r"break the rule|empty user id"):  # \x85: a space
            _import(engine, path, chunk_rows=10)
