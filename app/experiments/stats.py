"""The statistics of an experiment report: a Wilson 95 % interval for each arm's
click-through rate, and a two-sided two-proportion z-test of each arm against the control.
The normal distribution comes from `math.erfc`, so the serving side needs no scipy."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5 % quantile of the standard normal


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z: erfc(|z| / sqrt 2)."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion: stays inside [0, 1] and keeps its coverage at
    rates near 0, where click-through rates live (the normal interval does not); [0, 1]
    before any trial."""
    if trials <= 0:
        return 0.0, 1.0
    rate = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (rate + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / trials + z2 / (4 * trials * trials)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact bounds, no rounding
    return low, 1.0 if successes >= trials else min(1.0, centre + half)


@dataclass(frozen=True)
class Comparison:
    """A treatment against the control: z, two-sided p-value, relative lift (None where
    undefined: no impressions in an arm, or a control rate of 0)."""

    z: float | None
    p_value: float | None
    lift: float | None


def two_proportion_test(
    control_successes: int, control_trials: int, successes: int, trials: int
) -> Comparison:
    """Pooled two-proportion z-test of the treatment's rate against the control's, and the
    lift ctr_t / ctr_c - 1. Equal rates of 0 or 1 in both arms have no variance: z 0, p 1."""
    if control_trials <= 0 or trials <= 0:
        return Comparison(None, None, None)
    control_rate, rate = control_successes / control_trials, successes / trials
    lift = rate / control_rate - 1.0 if control_rate > 0 else None
    pooled = (control_successes + successes) / (control_trials + trials)
    variance = pooled * (1 - pooled) * (1 / control_trials + 1 / trials)
    if variance <= 0:
        return Comparison(0.0, 1.0, lift)
    z = (rate - control_rate) / math.sqrt(variance)
    return Comparison(z, normal_two_sided_p(z), lift)
