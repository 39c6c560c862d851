"""The experiment store on SQLite and PostgreSQL: one running experiment, counters that
several writers add to, users counted once, attribution only to the running experiment."""

from __future__ import annotations

from collections import Counter

from app.store.experiments import (
    ArmSpec,
    add_counts,
    arm_counts,
    attribute_events,
    create_experiment,
    running_experiment,
    stop_experiment,
)
from app.store.session import create_store_engine, init_schema, make_sessionmaker

ARMS = [ArmSpec("control", "popularity", "v1", 1.0), ArmSpec("treatment", "als", "v2", 1.0)]


def _sessions(store_url: str):
    engine = create_store_engine(store_url)
    init_schema(engine)
    return engine, make_sessionmaker(engine)


def test_only_one_experiment_runs_at_a_time(store_url):
    engine, sessions = _sessions(store_url)
    with sessions() as session:
        first = create_experiment(session, "one", ARMS)
        assert first is not None and running_experiment(session) == first
        assert create_experiment(session, "two", ARMS) is None
        assert stop_experiment(session, first, "treatment")
        assert not stop_experiment(session, first, "control")
        assert running_experiment(session) is None
        second = create_experiment(session, "two", ARMS)
        assert second > first and running_experiment(session) == second
    engine.dispose()


def test_counts_from_several_writers_add_up_and_users_count_once(store_url):
    engine, sessions = _sessions(store_url)
    with sessions() as session:
        experiment = create_experiment(session, "one", ARMS)
    for worker in range(3):  # three workers flush what each served
        with sessions() as session:
            impressions = Counter({(experiment, 0): 2, (experiment, 1): 5 + worker})
            users = [(experiment, "u1", 0), (experiment, f"w{worker}", 1)]
            add_counts(session, impressions, users)
    with sessions() as session:
        quoted = [(experiment, 1, "r1"), (experiment, 1, "r1"), (experiment, 0, "r2")]
        quoted += [(experiment + 1, 0, "other"), (experiment, 7, "no-such-arm")]
        events = attribute_events(session, quoted)
        session.commit()
        assert events == Counter({(experiment, "treatment"): 2, (experiment, "control"): 1})
        counts = {arm.name: c for arm, c in arm_counts(session, experiment)}
    assert (counts["control"].users, counts["control"].impressions) == (1, 6)
    assert (counts["treatment"].users, counts["treatment"].impressions) == (3, 18)
    assert (counts["treatment"].events, counts["treatment"].clicked) == (2, 1)
    assert (counts["control"].events, counts["control"].clicked) == (1, 1)
    engine.dispose()


def test_events_of_a_stopped_experiment_are_not_attributed(store_url):
    engine, sessions = _sessions(store_url)
    with sessions() as session:
        experiment = create_experiment(session, "one", ARMS)
        stop_experiment(session, experiment, "control")
        assert attribute_events(session, [(experiment, 0, "r1")]) == Counter()
        session.commit()
        assert all(c.events == 0 for _, c in arm_counts(session, experiment))
    engine.dispose()
