"""How fresh dither makes a refresh: the share of a user's top-k that changes from one
dither_seed to the next, and how deep in the model's ranking the shown items come from.

    .venv/bin/python benchmarks/dither_freshness.py --dataset ../shared/datasets/ml-100k

Fits `als` on every row (the served situation) and ranks every user with the server's rule
engine (app/serving/rules.py) through `training.protocols.ranked_lists`, as
`reco evaluate --param dither=X` does; `reco evaluate` gives the ndcg@10 cost.
"""

from __future__ import annotations

import argparse

import numpy as np

from app.serving.rules import Rules
from training.datasets.resolve import load_dataset
from training.models.base import create_model
from training.ranked import ranked_lists
from training.vocab import EncodedInteractions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="../shared/datasets/ml-100k")
    parser.add_argument("--model", default="als")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--dither", type=float, nargs="+", default=[1.25, 1.5, 2.0, 3.0])
    args = parser.parse_args()
    train = EncodedInteractions.encode(load_dataset(args.dataset))
    model = create_model(args.model)
    model.fit(train)
    users = np.arange(train.n_users)
    plain = ranked_lists(model, train, users, 100)
    rank_of = {u: {item: r for r, item in enumerate(plain[u].tolist(), 1)} for u in users}
    print(f"| dither | top-{args.k} items changed by a refresh | median rank shown | "
          f"shown from beyond rank 30 |\n|---|---|---|---|")  # fmt: skip
    for strength in args.dither:
        first = ranked_lists(model, train, users, args.k, Rules(dither=strength))
        second = ranked_lists(model, train, users, args.k, Rules(dither=strength, dither_seed=1))
        changed = np.mean([1 - len(set(first[u]) & set(second[u])) / args.k for u in users])
        ranks = np.array([rank_of[u].get(i, 101) for u in users for i in first[u].tolist()])
        deep = np.mean(ranks > 30)
        print(f"| {strength} | {changed:.0%} | {np.median(ranks):.0f} | {deep:.1%} |")


if __name__ == "__main__":
    main()
