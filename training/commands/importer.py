"""`reco import DATASET`: bulk-load a dataset into the interaction store."""

from __future__ import annotations

import argparse

from app.config import get_settings
from app.store.session import create_store_engine, init_schema
from training.datasets.options import add_dataset_arguments, dataset_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import", help="load a dataset into the store", description=__doc__
    )
    parser.add_argument(
        "dataset", help="synthetic, a MovieLens folder, or a CSV/Parquet/JSONL file"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_dataset_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.importer import import_interactions

    data = dataset_from_args(args.dataset, args)  # parse everything before writing anything
    url = args.database_url or get_settings().database_url
    engine = create_store_engine(url)
    init_schema(engine)
    report = import_interactions(engine, data, progress=not args.no_progress)
    print(
        f"imported {data.name} into {engine.url.render_as_string(hide_password=True)}: "
        f"{report.rows} rows, {report.new_interactions} new, "
        f"{report.users} users, {report.items} items"
    )
    return 0
