"""The experiment statistics against published or independently computed values (Wilson
intervals: Newcombe 1998, Statistics in Medicine 17, Table I; the z-test: Pearson's
chi-square of the 2 x 2 table, which equals z squared), and assignment: sticky, weighted,
reshuffled by a new experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.experiments.assignment import (
    assign,
    cumulative_bounds,
    experiment_recommendations,
    new_recommendation_id,
    parse_recommendation_id,
)
from app.experiments.stats import normal_two_sided_p, two_proportion_test, wilson_interval


def test_normal_two_sided_p_known_values() -> None:
    assert normal_two_sided_p(0.0) == 1.0
    assert normal_two_sided_p(1.959963984540054) == pytest.approx(0.05, abs=1e-12)
    assert normal_two_sided_p(-2.5758293035489) == pytest.approx(0.01, abs=1e-12)
    assert normal_two_sided_p(1.0) == pytest.approx(0.3173105078629141, abs=1e-12)


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_interval_matches_newcombe(successes, trials, expected) -> None:
    assert wilson_interval(successes, trials) == pytest.approx(expected, abs=5e-5)


def test_wilson_interval_without_trials_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_two_proportion_test_known_values() -> None:
    # 45/100 against 55/100: pooled 0.5, z = 0.1 / sqrt(0.25 * 0.02) = sqrt(2), p = erfc(1)
    result = two_proportion_test(45, 100, 55, 100)
    assert result.z == pytest.approx(math.sqrt(2), abs=1e-12)
    assert result.p_value == pytest.approx(0.15729920705028513, abs=1e-12)
    assert result.lift == pytest.approx(55 / 45 - 1)
    table = np.array([[360, 2140], [300, 2200]])  # control, treatment: clicked, not
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi_square = ((table - expected) ** 2 / expected).sum()
    result = two_proportion_test(360, 2500, 300, 2500)
    assert result.z < 0 and result.z**2 == pytest.approx(chi_square, rel=1e-12)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(chi_square / 2)), rel=1e-12)


def test_two_proportion_test_undefined_cases() -> None:
    assert two_proportion_test(0, 0, 5, 10).p_value is None
    no_variance = two_proportion_test(0, 10, 0, 20)
    assert (no_variance.z, no_variance.p_value, no_variance.lift) == (0.0, 1.0, None)


def test_assignment_is_sticky_and_follows_the_weights() -> None:
    bounds = cumulative_bounds([1.0, 3.0])
    assert bounds == (0.25, 1.0)
    users = [f"user-{i}" for i in range(20_000)]
    arms = np.array([assign(7, user, bounds) for user in users])
    assert [assign(7, user, bounds) for user in users[:100]] == arms[:100].tolist()
    assert abs(arms.mean() - 0.75) < 0.015  # 3 sd of a binomial share of 20,000
    other = np.array([assign(8, user, bounds) for user in users])
    assert 0.3 < (arms != other).mean() < 0.45  # independent: 2 * 0.25 * 0.75 = 0.375


def test_recommendation_ids_name_their_arm_and_are_fresh() -> None:
    first, second = new_recommendation_id(12, 3), new_recommendation_id(12, 3)
    assert first != second
    assert parse_recommendation_id(first) == (12, 3)
    assert parse_recommendation_id(new_recommendation_id()) is None
    assert parse_recommendation_id("e0a1-ab") is None
    quoted = experiment_recommendations([first, None, "nope", new_recommendation_id()])
    assert quoted == [(12, 3, first)]
