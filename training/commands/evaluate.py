"""`reco evaluate`: run PROTOCOLS.md (rank, loo, rmse) over models, side by side."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.serving.rules import Rules
from training.commands.params import (
    add_param_arguments,
    params_per_model,
    preparation_options,
    requested_params,
)
from training.datasets.options import add_dataset_arguments, dataset_from_args
from training.distributed import add_worker_arguments

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="compare models on a protocol", description=__doc__
    )
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--protocol", choices=("rank", "loo", "rmse"), default="rank")
    parser.add_argument("--models", default="all", help="comma-separated names, or all")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", type=Path, dest="json_path", help="write results as JSON")
    parser.add_argument("--report", type=Path, help="HTML report path (default under reports/)")
    add_param_arguments(parser)
    add_dataset_arguments(parser)
    add_worker_arguments(parser)
    parser.set_defaults(func=run)


def models_for(protocol: str, names: str) -> list[str]:
    """The model names asked for; `all` = every registered model suiting the protocol."""
    from training.models.base import MODELS, model_class

    if names != "all":
        chosen = [n.strip() for n in names.split(",") if n.strip()]
        for name in chosen:
            model_class(name)
        return chosen
    model_class("popularity")  # registers every model
    task = "rating" if protocol == "rmse" else "ranking"
    return [name for name, cls in MODELS.items() if task in cls.tasks]


def serving_rules(params: dict[str, Any]) -> Rules:
    """The serving rules among `params` (taken out of them: they are no model's), so that
    `--param dither=1.5` measures what the server's dither costs in ranking quality."""
    return Rules(dither=float(params.pop("dither", 1.0)))


def format_table(results: list[dict[str, Any]]) -> str:
    metric_names = list(dict.fromkeys(m for r in results for m in r["metrics"]))
    header = ["model", *metric_names, "fit s", "rec s"]
    rows = [
        [
            r["model"],
            *(f"{r['metrics'].get(m, float('nan')):.4f}" for m in metric_names),
            f"{r['fit_seconds']:.1f}",
            f"{r['recommend_seconds']:.2f}",
        ]
        for r in results
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from training.datasets.prep import prepare
    from training.distributed import check_same_data, is_chief, start
    from training.models._sampled import SampledRecommender
    from training.models.base import create_model, model_class
    from training.protocols import run_protocol

    names = models_for(args.protocol, args.models)
    if (
        status := start(args, all(issubclass(model_class(n), SampledRecommender) for n in names))
    ) is not None:
        return status
    params = requested_params(args)
    rules = serving_rules(params)
    shares = params_per_model(names, params)
    preparation = preparation_options(args)
    data = prepare(dataset_from_args(args.dataset, args), preparation)
    check_same_data(data)
    source = Path(args.dataset) if Path(args.dataset).is_dir() else None
    if source is not None and preparation and args.protocol == "rmse":
        log.info("data preparation %s: rmse splits the prepared rows 80/20, not u1.base/u1.test",
                 preparation)  # fmt: skip
        source = None
    results, histories = [], {}
    for name in names:
        log.info("evaluating %s (%s)", name, args.protocol)
        models = []

        def make(name: str = name, made: list = models) -> Any:
            made.append(create_model(name, **shares[name]))
            return made[-1]

        results.append(
            run_protocol(
                args.protocol, make, data, k=args.k, seed=args.seed, source=source, rules=rules
            )
        )
        histories[name] = models[-1].history
    if not is_chief():  # the chief prints and writes for all the workers
        return 0
    payload = {"dataset": str(args.dataset), "protocol": args.protocol, "k": args.k,
               "seed": args.seed, "results": results}  # fmt: skip
    print(format_table(results))
    if args.json_path:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        args.json_path.write_text(json.dumps(payload, indent=2))
        print(f"json: {args.json_path}")
    from training.report import write_evaluation_report

    report = (
        args.report
        or Path("reports") / f"eval-{args.protocol}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.html"
    )
    write_evaluation_report(report, results=payload, histories=histories)
    print(f"report: {report}")
    return 0
