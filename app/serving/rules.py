"""Business rules on one user's ranked list, applied after the model scores and before the
page is cut: `boost`, `max_per_category` and `dither`.

The rules work on a pool: the model's best max(`head`, offset + k) eligible items (from the
retriever that serves the model: exact, IVF or two-stage) plus every boosted item, scored by
the model itself, so a boosted item enters the list even where retrieval would not have
proposed it. In order:

1. **boost**: a boosted item's score becomes score + weight x spread, where spread is the
   model's score of the first pool's first item minus that of its last (before any boost; 1
   when they are equal; a pool grown for max_per_category keeps it). The spread is in the
   model's own units, so one weight means the same for every family (ratings, logits,
   cosine or popularity scores): weight 1 lifts an item at the bottom of the pool level with
   its top; a negative weight demotes.
2. **dither**: the pool is reordered by log(rank) + N(0, log(dither)), Ted Dunning's rank
   dithering, with a generator seeded by the user id and `dither_seed`. The same seed gives
   the same list; another seed (a refresh counter) shows other items of the relevant head.
   dither 1 is no noise; 1.5-2 keeps most of the top 10 and brings in items from ranks
   10-50, at a ranking-quality cost that `reco evaluate --param dither=X` measures.
3. **max_per_category**: walking the list best first, an item is kept only while each of
   its categories (the model's item genres, as `category=` filters by) has fewer than N kept
   items; items without categories are never capped. The pool grows until the list is
   offset + k long or the catalog is exhausted.

Each answer's `score` is the model's score plus its boost; under dither the list is no
longer ordered by it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.config import Settings
from app.serving.idmap import IdMap
from app.serving.retrieval import ranked_subset

Result = tuple[np.ndarray, np.ndarray]
Fetch = Callable[[int], Result]  # size -> the model's best `size` eligible items
ScoreSome = Callable[[np.ndarray], np.ndarray]  # item indices -> the model's scores


@dataclass(frozen=True)
class Rules:
    """The rules of one request (defaults: the RECO_ settings); hashable, a cache key part."""

    boost_items: tuple[str, ...] = ()
    boost_category: str | None = None
    boost_weight: float = 0.0
    max_per_category: int = 0  # 0: no cap
    dither: float = 1.0  # 1: no noise
    dither_seed: int = 0

    @property
    def boosts(self) -> bool:
        return self.boost_weight != 0 and bool(self.boost_items or self.boost_category)

    @property
    def active(self) -> bool:
        return self.boosts or self.max_per_category > 0 or self.dither > 1


NO_RULES = Rules()


def user_seed(user_key: str, seed: int) -> np.random.Generator:
    """The dither generator of one user and seed: stable across processes and restarts."""
    return np.random.default_rng([zlib.crc32(user_key.encode()), seed])


def dither(ranked: Result, strength: float, rng: np.random.Generator) -> Result:
    """`ranked` (best first) reordered by log(rank) + N(0, log(strength)) ascending; the one
    dither of serving and of `reco evaluate`."""
    indices, values = ranked
    if strength <= 1 or len(indices) < 2:
        return ranked
    keys = np.log(np.arange(1, len(indices) + 1)) + rng.normal(0, np.log(strength), len(indices))
    order = np.argsort(keys, kind="stable")
    return indices[order], values[order]


def capped(indices: np.ndarray, categories: list[tuple[str, ...]], cap: int, k: int) -> np.ndarray:
    """Positions in `indices` kept, best first, when each category holds at most `cap`
    items; stops at `k` kept."""
    counts: dict[str, int] = {}
    kept: list[int] = []
    for position, item in enumerate(indices.tolist()):
        names = categories[item]
        if any(counts.get(name, 0) >= cap for name in names):
            continue
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        kept.append(position)
        if len(kept) == k:
            break
    return np.array(kept, np.int64)


class RuleEngine:
    """The rules over one loaded model's items (one per ModelService)."""

    def __init__(self, item_map: IdMap, item_genres: list[str], head: int) -> None:
        self._item_map = item_map
        self._categories = [tuple(filter(None, g.split("|"))) for g in item_genres]
        self.head = head

    def pool_size(self, rules: Rules, wanted: int) -> int:
        """How many of the model's best items a request with `rules` retrieves first."""
        return max(self.head, wanted) if rules.active else wanted

    def boosted(self, rules: Rules) -> np.ndarray:
        """This model's indices of the boosted items (the named ones and the category's)."""
        parts = [np.empty(0, np.int64)]
        if rules.boost_items:
            encoded = self._item_map.encode(list(rules.boost_items)).astype(np.int64)
            parts.append(encoded[encoded >= 0])
        if rules.boost_category:
            inside = [
                i for i, names in enumerate(self._categories) if rules.boost_category in names
            ]
            parts.append(np.array(inside, np.int64))
        return np.unique(np.concatenate(parts))

    def apply(
        self,
        rules: Rules,
        user_key: str,
        wanted: int,
        excluded: np.ndarray,
        pool: Result,
        fetch: Fetch,
        score: ScoreSome,
    ) -> Result:
        """The user's first `wanted` items under `rules` (see the module docstring), from
        `pool`, the model's best `pool_size` eligible items, and `fetch` for more."""
        boosted = self.boosted(rules) if rules.boosts else np.empty(0, np.int64)
        boosted = boosted[~np.isin(boosted, excluded)]
        size = self.pool_size(rules, wanted)
        spread = float(pool[1][0] - pool[1][-1]) if len(pool[1]) else 0.0
        lift = rules.boost_weight * (spread or 1.0)  # fixed by the first pool
        while True:
            full = len(pool[0]) == size  # the retriever may hold more eligible items
            indices, values = self._boost(pool, boosted, lift, score, full)
            rng = user_seed(user_key, rules.dither_seed)
            indices, values = dither((indices, values), rules.dither, rng)
            if rules.max_per_category > 0:
                kept = capped(indices, self._categories, rules.max_per_category, wanted)
                indices, values = indices[kept], values[kept]
            if len(indices) >= wanted or not full:
                return indices[:wanted], values[:wanted]
            size *= 2
            pool = fetch(size)

    @staticmethod
    def _boost(
        pool: Result, boosted: np.ndarray, lift: float, score: ScoreSome, full: bool
    ) -> Result:
        """The pool and the boosted items ranked by boosted score, cut to the prefix that is
        the catalog's exact ranking: when the pool is `full`, an item beyond it (scored at
        most the pool's last) may outrank anything that now scores below the pool's last."""
        indices, values = pool
        if not len(boosted) or lift == 0 or not len(indices):
            return pool
        floor = values[-1]
        extra = boosted[~np.isin(boosted, indices)]
        items = np.concatenate([indices, extra])
        scores = np.concatenate([values, score(extra)]).astype(np.float32)
        scores[np.isin(items, boosted)] += np.float32(lift)
        ranked, ranked_scores = ranked_subset(items, scores, len(items))
        if full:
            exact = int((ranked_scores >= floor).sum())
            return ranked[:exact], ranked_scores[:exact]
        return ranked, ranked_scores


def resolve_rules(defaults: Rules, **given: object) -> Rules:
    """A request's rules: each value it gives (not None) replaces the service default; naming
    boost targets (items or a category) replaces both default targets."""
    values = {name: value for name, value in given.items() if value is not None}
    if "boost_items" in values or "boost_category" in values:
        values.setdefault("boost_items", ())
        values.setdefault("boost_category", None)
    if "boost_items" in values:
        values["boost_items"] = tuple(dict.fromkeys(values["boost_items"]))  # type: ignore[arg-type]
    return Rules(**{**defaults.__dict__, **values})


def default_rules(settings: Settings) -> Rules:
    """The service defaults (RECO_BOOST_*, RECO_MAX_PER_CATEGORY, RECO_DITHER) as rules."""
    return Rules(
        tuple(settings.boost_items),
        settings.boost_category,
        settings.boost_weight,
        settings.max_per_category,
        settings.dither,
    )
