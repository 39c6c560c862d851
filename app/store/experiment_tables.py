"""The experiment tables: experiments, their arms with the impression and event counters, the
users each arm served (one row per user, so users are counted exactly) and the
recommendation lists that got at least one attributed event (the click-through numerator)."""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, Double, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.tables import ID_LENGTH, Base

RUNNING, STOPPED = "running", "stopped"


class Experiment(Base):
    """An A/B test. At most one is `running` (a partial unique index holds it across
    replicas); the first arm is the control."""

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    winner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Double, default=time.time)
    stopped_at: Mapped[float | None] = mapped_column(Double, nullable=True)

    __table_args__ = (
        Index(
            "uq_one_running_experiment",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )


class ExperimentArm(Base):
    """One arm: the model it routes to (as asked, and the version that resolved to) and its
    counters, which workers add their buffered counts to."""

    __tablename__ = "experiment_arms"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: the control
    name: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(ID_LENGTH))
    version: Mapped[str] = mapped_column(String(ID_LENGTH))
    weight: Mapped[float] = mapped_column(Double)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class ExperimentUser(Base):
    """A user an arm answered, inserted once."""

    __tablename__ = "experiment_users"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    arm: Mapped[int] = mapped_column(Integer)


class ExperimentClick(Base):
    """A recommendation list that got at least one attributed event, inserted once."""

    __tablename__ = "experiment_clicks"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    recommendation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    arm: Mapped[int] = mapped_column(Integer)
