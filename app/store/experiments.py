"""Store queries and writes of experiments: define, stop, count and report. Counters grow
with `UPDATE ... SET n = n + :added`, atomic on SQLite and PostgreSQL, so any number of
workers and replicas add to them without reading first."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.store.experiment_tables import (
    RUNNING,
    STOPPED,
    Experiment,
    ExperimentArm,
    ExperimentClick,
    ExperimentUser,
)
from app.store.repository import insert_ignoring_duplicates

ArmKey = tuple[int, int]  # (experiment id, arm position)


@dataclass(frozen=True)
class ArmSpec:
    """An arm to create: its name, the model as asked, the version that resolves to."""

    name: str
    model: str
    version: str
    weight: float


@dataclass(frozen=True)
class ArmCounts:
    """What the store counted for one arm."""

    users: int
    impressions: int
    events: int
    clicked: int  # lists with at least one attributed event


def create_experiment(session: Session, name: str, arms: Sequence[ArmSpec]) -> int | None:
    """A new running experiment's id; None while another one runs (the unique index on
    running experiments decides, also between replicas)."""
    experiment = Experiment(name=name, status=RUNNING, created_at=time.time())
    session.add(experiment)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    session.add_all(
        ExperimentArm(
            experiment_id=experiment.id,
            position=position,
            name=arm.name,
            model=arm.model,
            version=arm.version,
            weight=arm.weight,
            impressions=0,
            events=0,
        )
        for position, arm in enumerate(arms)
    )
    session.commit()
    return experiment.id


def running_experiment(session: Session) -> int | None:
    """The id of the running experiment, if any: one indexed read, cheap enough to poll."""
    return session.scalar(select(Experiment.id).where(Experiment.status == RUNNING))


def experiment_ids(session: Session) -> list[int]:
    """Every experiment, newest first."""
    return list(session.scalars(select(Experiment.id).order_by(Experiment.id.desc())))


def load_experiment(session: Session, experiment_id: int) -> Experiment | None:
    return session.get(Experiment, experiment_id)


def load_arms(session: Session, experiment_id: int) -> list[ExperimentArm]:
    """The arms of an experiment, control first."""
    query = select(ExperimentArm).where(ExperimentArm.experiment_id == experiment_id)
    return list(session.scalars(query.order_by(ExperimentArm.position)))


def stop_experiment(session: Session, experiment_id: int, winner: str) -> bool:
    """Mark a running experiment stopped with its chosen arm; False if it was not running
    (another request stopped it first). Commits."""
    stopped = session.execute(
        update(Experiment)
        .where(Experiment.id == experiment_id, Experiment.status == RUNNING)
        .values(status=STOPPED, winner=winner, stopped_at=time.time())
    )
    session.commit()
    return stopped.rowcount == 1


def arm_counts(session: Session, experiment_id: int) -> list[tuple[ExperimentArm, ArmCounts]]:
    """Each arm, control first, with its distinct users, impressions, events and clicked
    lists."""

    def per_arm(table: type[ExperimentUser] | type[ExperimentClick]) -> dict[int, int]:
        query = (
            select(table.arm, func.count())
            .where(table.experiment_id == experiment_id)
            .group_by(table.arm)
        )
        return {arm: count for arm, count in session.execute(query)}

    users, clicked = per_arm(ExperimentUser), per_arm(ExperimentClick)
    return [
        (
            arm,
            ArmCounts(
                users.get(arm.position, 0),
                arm.impressions,
                arm.events,
                clicked.get(arm.position, 0),
            ),
        )
        for arm in load_arms(session, experiment_id)
    ]


def forget_user(session: Session, external_id: str) -> None:
    """Drop a deleted user from every experiment's users (the arms' counts of lists and
    events stay, holding no id). Leaves the transaction open, for the deletion's."""
    session.execute(delete(ExperimentUser).where(ExperimentUser.user_id == external_id))


def _add(session: Session, column: str, added: Mapping[ArmKey, int]) -> None:
    """Add `added` to an arm counter column (`impressions` or `events`), one statement."""
    if not added:
        return
    table = ExperimentArm.__table__
    statement = (
        update(table)
        .where(table.c.experiment_id == bindparam("e"), table.c.position == bindparam("a"))
        .values({column: table.c[column] + bindparam("n")})
    )
    rows = [{"e": e, "a": a, "n": n} for (e, a), n in sorted(added.items())]
    session.connection().execute(statement, rows)


def add_counts(
    session: Session,
    impressions: Mapping[ArmKey, int],
    users: Iterable[tuple[int, str, int]],
) -> None:
    """Add a worker's buffered impressions and the users its arms answered (experiment,
    user, arm; a user already counted is skipped). Commits."""
    _add(session, "impressions", impressions)
    rows = [{"experiment_id": e, "user_id": u, "arm": a} for e, u, a in users]
    if rows:
        insert_ignoring_duplicates(session.connection(), ExperimentUser.__table__, rows)
    session.commit()


def attribute_events(
    session: Session, recommendations: Sequence[tuple[int, int, str]]
) -> Counter[tuple[int, str]]:
    """Count events whose recommendation (experiment, arm, recommendation id) belongs to
    the running experiment: the arm's events, and its clicked lists once per list. Leaves
    the transaction open, so the caller commits it with the events themselves. Returns the
    events per (experiment, arm name)."""
    running = running_experiment(session) if recommendations else None
    names = {arm.position: arm.name for arm in load_arms(session, running)} if running else {}
    attributed = [r for r in recommendations if r[0] == running and r[1] in names]
    _add(session, "events", Counter((e, a) for e, a, _ in attributed))
    clicks = {
        rid: {"experiment_id": e, "recommendation_id": rid, "arm": a} for e, a, rid in attributed
    }
    if clicks:
        table = ExperimentClick.__table__
        insert_ignoring_duplicates(session.connection(), table, list(clicks.values()))
    return Counter((e, names[a]) for e, a, _ in attributed)
