"""Model hyperparameter flags shared by `reco train` and `reco evaluate`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from training.models.base import Recommender, model_class

SHORTCUTS = (
    "epochs", "factors", "seed",
    "rating_threshold", "min_user_interactions", "min_item_interactions",
)  # fmt: skip


def add_param_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model hyperparameters")
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a hyperparameter, e.g. --param l2=0.05 (repeatable)",
    )
    group.add_argument("--epochs", type=int, help="training epochs (neural models)")
    group.add_argument("--factors", type=int, help="embedding width")
    group.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    prep = parser.add_argument_group("data preparation")
    prep.add_argument("--rating-threshold", type=float, help="keep ratings >= X as positives")
    prep.add_argument("--min-user-interactions", type=int, help="drop users with fewer rows")
    prep.add_argument("--min-item-interactions", type=int, help="drop items with fewer rows")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def requested_params(args: argparse.Namespace) -> dict[str, Any]:
    """NAME=VALUE pairs from --param plus the shortcut flags that were given."""
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


def build_model(name: str, params: dict[str, Any]) -> Recommender:
    """The model `name` with those of `params` that its config has (validated)."""
    cls = model_class(name)
    fields = cls.config_class.model_fields
    return cls(cls.config_class(**{k: v for k, v in params.items() if k in fields}))
