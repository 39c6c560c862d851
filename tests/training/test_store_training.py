"""Training from the interaction store, on a real SQLite file: what a bundle says it was
trained up to, and what a click teaches a rating model (nothing) and an implicit one."""

import json

import numpy as np
import pytest

from app.store.repository import add_interactions
from app.store.session import create_store_engine, init_schema, make_sessionmaker
from training.cli import main
from training.datasets.store import load_store


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_store_engine(url)
    init_schema(engine)
    engine.dispose()
    return url


def _add(url: str, rows: list[dict]) -> None:
    engine = create_store_engine(url)
    with make_sessionmaker(engine)() as session:
        add_interactions(session, rows)
    engine.dispose()


def _ratings(users: int = 12, items: int = 9) -> list[dict]:
    """Five ratings per user (4, 5, 4, 5, 4: mean 4.4) of items i0..i8."""
    return [
        {"user_id": f"u{u}", "item_id": f"i{(u + n) % items}", "value": 4.0 + n % 2,
         "kind": "rating", "timestamp": 1000 + n}
        for u in range(users)
        for n in range(5)
    ]  # fmt: skip


def test_train_from_store_marks_only_the_rows_it_trained_on(sqlite_url, tmp_path, monkeypatch):
    """A row written while `reco train` runs is not in the model, so it must not be marked
    trained-on (latest_interaction_id): else fold-in would never see it."""
    import training.datasets.prep as prep

    _add(sqlite_url, _ratings())
    original = prep.prepare

    def prepare_while_a_row_arrives(data, options):
        _add(sqlite_url, [{"user_id": "late", "item_id": "i1", "kind": "click", "value": 1.0}])
        return original(data, options)

    monkeypatch.setattr(prep, "prepare", prepare_while_a_row_arrives)
    bundle = tmp_path / "bundle"
    argv = ["train", "--model", "popularity", "--dataset", "store", "--database-url",
            sqlite_url, "--out", str(bundle), "--no-holdout", "--no-report"]  # fmt: skip
    assert main(argv) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    trained_up_to = manifest["dataset"]["latest_interaction_id"]
    assert trained_up_to == 60  # the 60 rating rows, not the late click (id 61)
    assert len(load_store(sqlite_url, up_to_id=trained_up_to)) == 60


def test_store_clicks_are_events_not_ratings(sqlite_url):
    _add(sqlite_url, _ratings())
    _add(sqlite_url, [{"user_id": f"u{u}", "item_id": "i9", "kind": "click", "value": 1.0,
                       "timestamp": 2000} for u in range(12)])  # fmt: skip
    data = load_store(sqlite_url)
    assert data.frame["is_rating"].sum() == 60 and (~data.frame["is_rating"]).sum() == 12


def test_rating_models_ignore_clicks_and_implicit_models_count_them(sqlite_url):
    """An API click (value 1.0) is not a one-star rating: mf and bias learn from ratings only;
    an implicit model counts the click as a positive even under a rating threshold."""
    from training.datasets.prep import prepare
    from training.models._implicit import positives
    from training.models.base import create_model
    from training.vocab import EncodedInteractions

    _add(sqlite_url, _ratings())
    _add(sqlite_url, [{"user_id": f"u{u}", "item_id": "i9", "kind": "click", "value": 1.0,
                       "timestamp": 2000} for u in range(12)])  # fmt: skip
    data = EncodedInteractions.encode(load_store(sqlite_url))
    bias = create_model("bias", validation_fraction=0.0)
    bias.fit(data)
    assert bias.mean == pytest.approx(4.4)  # the clicks' 1.0 would pull it down
    kept = positives(data, 4.5)
    assert kept.items[~kept.is_rating].tolist() == [data.item_map.get("i9")] * 12
    assert np.all(kept.ratings[kept.is_rating] == 5.0)
    prepared = prepare(load_store(sqlite_url), {"rating_threshold": 4.5})
    assert (~prepared.frame["is_rating"]).sum() == 12 and prepared.frame["rating"].min() == 1.0


def test_rating_model_on_events_only_is_a_clear_error(tmp_path, capsys):
    csv = tmp_path / "clicks.csv"
    csv.write_text(
        "user,item\n" + "".join(f"u{u},i{(u + n) % 7}\n" for u in range(9) for n in range(4))
    )
    argv = ["train", "--model", "bias", "--dataset", str(csv), "--out", str(tmp_path / "b"),
            "--no-report"]  # fmt: skip
    assert main(argv) == 2
    assert "bias needs ratings, and the data has no rating rows" in capsys.readouterr().err
