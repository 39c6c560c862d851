"""What a deletion costs: the store transaction of deleting a user and a popular item, the
store view's refresh that applies it (what a worker does before its next answer), and the
idle refresh that polls the deletion log when nothing changed (every worker, every second).

    .venv/bin/python benchmarks/deletion.py --interactions 1000000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select

from app.serving.store_view import StoreView
from app.store.deletions import delete_entity
from app.store.session import create_store_engine, init_schema, make_sessionmaker
from app.store.tables import Interaction, Item
from training.datasets.synthetic import make_synthetic
from training.importer import import_interactions

T = TypeVar("T")


def _ms(work: Callable[[], object]) -> float:
    return _timed(work)[1]


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    return result, (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=5_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="reco-deletion-"))
    engine = create_store_engine(f"sqlite:///{folder / 'store.db'}")
    init_schema(engine)
    data = make_synthetic(args.users, args.items, args.interactions, seed=0)
    import_interactions(engine, data, progress=False)
    sessions = make_sessionmaker(engine)
    view = StoreView(sessions)
    load = _ms(view.refresh)
    idle = statistics.median(_ms(view.refresh) for _ in range(200))
    user = data.frame["user"].iloc[0]
    with sessions() as session:
        count = func.count(Interaction.id)
        top = select(Item.external_id, count).join(Interaction).group_by(Item.id)
        item, item_events = session.execute(top.order_by(count.desc()).limit(1)).one()
        deleted_user, user_store = _timed(lambda: delete_entity(session, "user", user))
        user_view = _ms(view.refresh)
        item_store = _ms(lambda: delete_entity(session, "item", item))
        item_view = _ms(view.refresh)
    engine.dispose()
    print(f"store: {len(data):,} interactions, {args.users:,} users, {args.items:,} items (SQLite)")
    print(f"view load {load:.0f} ms; idle refresh (log poll included) median {idle:.2f} ms")
    print(f"delete user {user!r} ({deleted_user.interactions} events): store {user_store:.1f} ms, "
          f"view refresh {user_view:.1f} ms")  # fmt: skip
    print(f"delete item {item!r} ({item_events:,} events): store {item_store:.1f} ms, "
          f"view refresh {item_view:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
