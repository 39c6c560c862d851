"""An experiment's report: the store's counts per arm, their rates with Wilson intervals,
and each arm against the control."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.experiments.stats import two_proportion_test, wilson_interval
from app.store.experiments import ArmCounts, arm_counts, load_experiment


def _arm(name: str, model: str, version: str, weight: float, counts: ArmCounts) -> dict:
    trials, clicked = counts.impressions, min(counts.clicked, counts.impressions)
    return {
        "name": name,
        "model": model,
        "version": version,
        "weight": weight,
        "users": counts.users,
        "impressions": trials,
        "events": counts.events,
        "clicked": counts.clicked,
        "ctr": clicked / trials if trials else 0.0,
        "ctr_ci95": wilson_interval(clicked, trials),
    }


def _compare(control: dict, arm: dict) -> dict:
    test = two_proportion_test(
        min(control["clicked"], control["impressions"]),
        control["impressions"],
        min(arm["clicked"], arm["impressions"]),
        arm["impressions"],
    )
    return {
        "arm": arm["name"],
        "control": control["name"],
        "lift": test.lift,
        "z": test.z,
        "p_value": test.p_value,
    }


def experiment_report(session: Session, experiment_id: int) -> dict:
    """The ExperimentOut of one experiment; NotFound for an unknown id."""
    experiment = load_experiment(session, experiment_id)
    if experiment is None:
        raise NotFound(f"no experiment {experiment_id}")
    arms = [
        _arm(a.name, a.model, a.version, a.weight, counts)
        for a, counts in arm_counts(session, experiment_id)
    ]
    comparisons = [_compare(arms[0], arm) for arm in arms[1:]]
    return {
        "id": experiment.id,
        "name": experiment.name,
        "status": experiment.status,
        "winner": experiment.winner,
        "created_at": experiment.created_at,
        "stopped_at": experiment.stopped_at,
        "control": arms[0]["name"],
        "arms": arms,
        "comparison": comparisons[0] if comparisons else None,
        "comparisons": comparisons,
    }
