"""`reco train --model NAME --dataset DATASET`: fit a model and export a versioned bundle."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from app.config import get_settings
from training.commands.params import (
    add_param_arguments,
    params_per_model,
    preparation_options,
    requested_params,
)
from training.datasets.options import add_dataset_arguments, dataset_from_args
from training.distributed import add_worker_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="fit a model, export a bundle", description=__doc__
    )
    parser.add_argument(
        "--model",
        default="auto",
        help="model name (default auto: the best of als, ease, popularity on validation)",
    )
    parser.add_argument(
        "--dataset", default="synthetic", help="synthetic, store, a MovieLens folder, or a file"
    )
    parser.add_argument("--out", type=Path, help="bundle folder (default: new one under artifacts)")
    parser.add_argument("--no-holdout", action="store_true", help="skip the holdout evaluation")
    parser.add_argument(
        "--holdout-users",
        type=int,
        help="score the holdout of at most this many random users (default 20,000; 0: every "
        "user; the model always fits the whole training part)",
    )
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    add_param_arguments(parser)
    add_dataset_arguments(parser)
    add_worker_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.datasets.prep import prepare
    from training.distributed import check_same_data, from_chief, is_chief, start
    from training.export import new_bundle_dir
    from training.models._sampled import SampledRecommender
    from training.models.base import create_model, model_class
    from training.pipeline import train_and_export

    # fail on a bad name or value before loading data
    params = params_per_model([args.model], requested_params(args))[args.model]
    if (status := start(args, issubclass(model_class(args.model), SampledRecommender))) is not None:
        return status
    extra, histories = {}, None
    if args.dataset == "store":
        from training.datasets.store import latest_deletion_id, latest_interaction_id, load_store
        from training.datasets.store_histories import store_histories

        # the ids first, then only rows up to it: a row written meanwhile is neither trained on
        # nor marked as trained on, so fold-in still sees it; a deletion logged meanwhile
        # still applies to the bundle in serving (app/serving/deletions.py)
        url = args.database_url or get_settings().database_url
        extra["latest_deletion_id"] = from_chief(latest_deletion_id(url))
        extra["latest_interaction_id"] = from_chief(latest_interaction_id(url))
        data = load_store(url, up_to_id=extra["latest_interaction_id"])
        histories = partial(store_histories, url, extra["latest_interaction_id"])
    else:
        data = dataset_from_args(args.dataset, args)
    data = prepare(data, preparation_options(args))
    check_same_data(data)
    out = args.out or new_bundle_dir(get_settings().artifacts_dir, args.model)
    result = train_and_export(
        lambda: create_model(args.model, **params),
        data,
        out,
        seed=args.seed,
        holdout=not args.no_holdout,
        holdout_users=args.holdout_users,
        report=not args.no_report,
        extra_dataset=extra,
        write=is_chief(),
        user_histories=histories,
    )
    if result.bundle is None:
        return 0
    print(f"bundle: {result.bundle}")
    for name, value in result.metrics.items():
        print(f"  {name:>14} {value:.4f}")
    return 0
