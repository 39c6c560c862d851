"""`reco import DATASET`: load a dataset into the interaction store, streamed in chunks."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.config import get_settings
from app.store.session import create_store_engine, init_schema
from training.datasets.options import add_dataset_arguments, dataset_from_args
from training.datasets.stream import CHUNK_ROWS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import", help="load a dataset into the store", description=__doc__
    )
    parser.add_argument(
        "dataset", help="synthetic, a MovieLens folder, or a CSV/TSV/Parquet/JSONL file"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=CHUNK_ROWS,
        metavar="N",
        help=f"rows read and written at a time (default {CHUNK_ROWS:,}); memory follows it",
    )
    add_dataset_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.datasets.resolve import dataset_stream
    from training.importer import import_interactions, import_stream

    if args.chunk_rows < 1:
        raise SystemExit(f"--chunk-rows must be at least 1 (got {args.chunk_rows})")
    stream = dataset_stream(args.dataset, columns=args.columns, sep=args.sep)
    url = args.database_url or get_settings().database_url
    engine = create_store_engine(url)
    init_schema(engine)
    progress = not args.no_progress
    if stream is None:
        data = dataset_from_args(args.dataset, args)
        name, report = data.name, import_interactions(engine, data, progress=progress)
    else:
        name = Path(args.dataset).name
        report = import_stream(engine, stream, chunk_rows=args.chunk_rows, progress=progress)
    print(
        f"imported {name} into {engine.url.render_as_string(hide_password=True)}: "
        f"{report.rows} rows, {report.new_interactions} new, "
        f"{report.users} users, {report.items} items"
    )
    engine.dispose()
    return 0
