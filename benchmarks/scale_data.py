"""The synthetic interaction log of issue 14: seeded, power-law users and items, time-ordered.

300,000 users and 60,000 items by default; each row is one event (click, play, purchase or
rating) with a unix timestamp; a rating carries a value of 1-5, other kinds leave the value
empty (the importer's per-kind default applies). Written in chunks with pyarrow, so memory
stays flat whatever the number of rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

KINDS = np.array(["click", "play", "purchase", "rating"])
KIND_SHARES = np.array([0.55, 0.25, 0.05, 0.15])
USER_EXPONENT, ITEM_EXPONENT = 0.6, 0.9  # p(rank r) ~ r^-exponent
START, SPAN = 1_600_000_000, 2 * 365 * 86_400  # two years of events from 2020-09-13
CHUNK_ROWS = 1_000_000
USERS, ITEMS = 300_000, 60_000


def _power_law(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities ~ rank^-exponent, ranks shuffled over the ids."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return (weights / weights.sum())[rng.permutation(n)]


def generate(path: Path, rows: int, users: int = USERS, items: int = ITEMS, seed: int = 14) -> Path:
    """Write `rows` events to the CSV `path` (user_id,item_id,kind,value,timestamp)."""
    rng = np.random.default_rng(seed)
    user_p = np.cumsum(_power_law(users, USER_EXPONENT, rng))
    item_p = np.cumsum(_power_law(items, ITEM_EXPONENT, rng))
    kind_p = np.cumsum(KIND_SHARES)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    schema = pa.schema(
        [("user_id", pa.string()), ("item_id", pa.string()), ("kind", pa.string()),
         ("value", pa.float32()), ("timestamp", pa.int64())]
    )  # fmt: skip
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(partial, schema, write_options=options) as writer:
        for start in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - start)
            user = np.searchsorted(user_p, rng.random(n) * user_p[-1])
            item = np.searchsorted(item_p, rng.random(n) * item_p[-1])
            kind = np.searchsorted(kind_p, rng.random(n) * kind_p[-1])
            value = np.where(kind == 3, rng.integers(1, 6, n), np.nan).astype(np.float32)
            low = START + SPAN * start // rows  # the log is in time order, as logs are
            high = START + SPAN * (start + n) // rows
            stamp = np.sort(rng.integers(low, max(high, low + 1), n))
            batch = pa.record_batch(
                [
                    pa.array(user + 1).cast(pa.string()),
                    pa.array(item + 1).cast(pa.string()),
                    pa.array(KINDS[kind]),
                    pa.array(value, from_pandas=True),
                    pa.array(stamp),
                ],
                schema=schema,
            )
            writer.write_batch(batch)
    partial.rename(path)
    return path
