"""Model hyperparameter and data-preparation flags shared by `reco train` and `reco evaluate`.

Hyperparameters (--param NAME=VALUE and the shortcuts --epochs, --factors, --seed) follow one
rule: a name that no chosen model has is an error listing each model's valid names; with
several models (`reco evaluate --models a,b`), a name that only some have applies to those and
is logged for the others. Data-preparation flags change the data, never a model's config.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from training.models.base import create_model, parameter_names

log = logging.getLogger(__name__)

SHORTCUTS = ("epochs", "factors", "seed")
PREPARATION = ("rating_threshold", "min_user_interactions", "min_item_interactions")


def add_param_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model hyperparameters")
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a hyperparameter, e.g. --param l2=0.05 (repeatable); an unknown name is an "
        "error that lists the valid ones",
    )
    group.add_argument("--epochs", type=int, help="training epochs (neural models)")
    group.add_argument("--factors", type=int, help="embedding width")
    group.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    prep = parser.add_argument_group("data preparation")
    prep.add_argument(
        "--rating-threshold", type=float, help="keep ratings >= X (other events always stay)"
    )
    prep.add_argument("--min-user-interactions", type=int, help="drop users with fewer rows")
    prep.add_argument("--min-item-interactions", type=int, help="drop items with fewer rows")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def requested_params(args: argparse.Namespace) -> dict[str, Any]:
    """NAME=VALUE pairs from --param plus the hyperparameter shortcut flags that were given."""
    params: dict[str, Any] = {}
    for pair in args.param:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {pair!r}")
        params[name.strip().replace("-", "_")] = _value(value.strip())
    for name in SHORTCUTS:
        if getattr(args, name, None) is not None:
            params[name] = getattr(args, name)
    return params


def preparation_options(args: argparse.Namespace) -> dict[str, Any]:
    """The data-preparation flags that were given (see `training.datasets.prep.prepare`)."""
    return {name: getattr(args, name) for name in PREPARATION if getattr(args, name) is not None}


def params_per_model(names: list[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each model's share of `params` under the module's rule, validated by building each
    model once (a bad value fails here, before any data is loaded)."""
    valid = {name: set(parameter_names(name)) for name in names}
    for param in params:
        takers = [name for name in names if param in valid[name]]
        if not takers:
            choices = "; ".join(f"{n}: {', '.join(sorted(valid[n]))}" for n in names)
            if len(names) == 1:
                choices = ", ".join(sorted(valid[names[0]]))
            models = ", ".join(names)
            raise ValueError(f"unknown parameter {param!r} for {models}; valid: {choices}")
        if len(takers) < len(names):
            skipped = ", ".join(n for n in names if n not in takers)
            log.info("parameter %s applies to %s; %s has no such parameter",
                     param, ", ".join(takers), skipped)  # fmt: skip
    shares = {name: {k: v for k, v in params.items() if k in valid[name]} for name in names}
    for name, share in shares.items():
        create_model(name, **share)
    return shares
