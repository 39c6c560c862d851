"""The store's negative kinds come back to training as `negatives`, apart from the rows, on
SQLite and PostgreSQL alike."""

from app.store.repository import add_interactions
from app.store.session import create_store_engine, init_schema, make_sessionmaker
from training.datasets.store import load_store


def test_load_store_holds_negative_kinds_apart(store_url):
    engine = create_store_engine(store_url)
    init_schema(engine)
    rows = [("u1", "a", "click"), ("u1", "b", "dislike"), ("u1", "b", "dislike"),
            ("u2", "a", "skip"), ("u2", "c", "rating")]  # fmt: skip
    with make_sessionmaker(engine)() as session:
        add_interactions(session, [
            {"user_id": u, "item_id": i, "value": 1.0, "kind": k, "timestamp": float(n)}
            for n, (u, i, k) in enumerate(rows)
        ])  # fmt: skip
    engine.dispose()
    data = load_store(store_url, negative_kinds=["dislike", "skip"])
    assert sorted(zip(data.frame["user"], data.frame["item"], strict=True)) == [
        ("u1", "a"),
        ("u2", "c"),
    ]
    assert sorted(map(tuple, data.negatives.values.tolist())) == [("u1", "b"), ("u2", "a")]
    assert len(load_store(store_url, negative_kinds=[]).negatives) == 0
