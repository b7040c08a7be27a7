"""What the store keeps: projects, stage runs, gates, decisions, codes, documents, messages.

Every row a lifecycle writes carries a natural key (project + stage + attempt + gate ...)
under a unique constraint, because a resumed flow runs again from the top and must find
what it already wrote instead of writing it twice.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored and returned in UTC, also on SQLite, which forgets the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # Stable constraint names, so Alembic migrations name the same thing on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lifecycle: Mapped[str] = mapped_column(String(60))
    lifecycle_version: Mapped[str] = mapped_column(String(64))
    # The tailored lifecycle as it was when the project started: its gates keep their
    # rules even if the PMO edits the library while the project runs.
    lifecycle_definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    tier: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="active")
    current_stage: Mapped[str | None] = mapped_column(String(60))
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    project_manager_email: Mapped[str] = mapped_column(String(320))
    brief: Mapped[dict[str, Any]] = mapped_column(JSON)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    close_reason: Mapped[str | None] = mapped_column(Text)

    stage_runs: Mapped[list["StageRun"]] = relationship(back_populates="project", lazy="raise")


class StageRun(Base):
    __tablename__ = "stage_runs"
    __table_args__ = (UniqueConstraint("project_id", "stage_key", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stage_key: Mapped[str] = mapped_column(String(60))
    stage_name: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="in-progress")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The pause key the run waits at for a status update (None while it does not wait),
    # when that wait began, and how many times it has waited, so that every wait has a key
    # of its own.
    waiting_key: Mapped[str | None] = mapped_column(String(120))
    waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    waits: Mapped[int] = mapped_column(default=0, server_default="0")
    # The lifecycle version the attempt runs under, from start to gate decision (a
    # `project_lifecycles` row of the project); None on rows older than migration 0008.
    lifecycle_version: Mapped[str | None] = mapped_column(String(64))

    project: Mapped[Project] = relationship(back_populates="stage_runs", lazy="raise")


class ProjectLifecycle(Base):
    """A lifecycle version pinned on a project: the first when it started, then one per
    migration onto another version (who moved it, why, and how its keys map). `definition`
    is the lifecycle as this project runs it (tailored, repeated stages expanded);
    `tailoring` says what was tailored and why."""

    __tablename__ = "project_lifecycles"
    __table_args__ = (UniqueConstraint("project_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    seq: Mapped[int]
    lifecycle: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(64))
    # sha256 of the definition's canonical JSON: one parse serves every project that shares it.
    digest: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    tailoring: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Old stage or gate key -> its counterpart in this version (migrations only).
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The stage of this version the project stood in when it was pinned (migrations only).
    entry_stage: Mapped[str | None] = mapped_column(String(60))
    pinned_by: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, default="")
    pinned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ActivityRecord(Base):
    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("stage_run_id", "activity_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id"))
    activity_key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Gate(Base):
    """One gate of one stage attempt; `round` counts the times it was held and reopened.

    `kind` is `stage` for the gate that closes the stage attempt, `exception` for one a
    tolerance breach opened during it (keyed `<exception gate>-<update number>`).
    """

    __tablename__ = "gates"
    __table_args__ = (UniqueConstraint("stage_run_id", "gate_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(20), default="stage", server_default="stage")
    gate_key: Mapped[str] = mapped_column(String(80))
    gate_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    round: Mapped[int] = mapped_column(default=1)
    outcome: Mapped[str | None] = mapped_column(String(10))
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The clock of reminders and the SLA starts again with every round.
    round_opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Wrong codes since the gate was last (un)locked; at the limit the gate locks.
    wrong_codes: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The pause key the run waits at for answers (None while it does not wait), and how
    # many times it has waited: an answer that decides the round wakes that pause.
    waiting_key: Mapped[str | None] = mapped_column(String(120))
    waits: Mapped[int] = mapped_column(default=0, server_default="0")


class ApprovalCode(Base):
    """A one-time code sent to one approver for one gate round; only its hash is kept."""

    __tablename__ = "approval_codes"
    __table_args__ = (UniqueConstraint("gate_id", "round", "approver_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    round: Mapped[int]
    approver_email: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class GateDecision(Base):
    """One person's answer at a gate: accepted, or refused with the reason."""

    __tablename__ = "gate_decisions"
    __table_args__ = (UniqueConstraint("gate_id", "response_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    round: Mapped[int]
    response_key: Mapped[str] = mapped_column(String(120))
    approver_email: Mapped[str] = mapped_column(String(320))
    roles: Mapped[str] = mapped_column(String(200), default="")
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    accepted: Mapped[bool]
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    refusal_kind: Mapped[str | None] = mapped_column(String(30))
    # `prefect` (the Resume form), `cli` (`pmo approve`, with the code), `web` (the review
    # page, authenticated by the approver's personal link instead of the code), `policy`.
    channel: Mapped[str] = mapped_column(String(20), default="prefect")
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The approver a delegate answered for ("B for A": approver_email is B); None when the
    # approver answered in person.
    on_behalf_of: Mapped[str | None] = mapped_column(String(320))


class Delegation(Base):
    """An approver away: from `starts_at` until `until`, new gate requests for
    `from_email` go to `to_email`, who answers for them. `created_by` is the approver or
    a PMO contact; `ended_at` is set when it is ended early."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_email: Mapped[str] = mapped_column(String(320), index=True)
    to_email: Mapped[str] = mapped_column(String(320), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(320))


class GateMeeting(Base):
    """The review meeting of a gate round (its lifecycle asks for one): when, for how
    long, and the invitation's SEQUENCE, raised by every new time and the cancellation."""

    __tablename__ = "gate_meetings"
    __table_args__ = (UniqueConstraint("gate_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    round: Mapped[int]
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    minutes: Mapped[int]
    sequence: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    set_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReviewLink(Base):
    """A personal link to a gate round's review page, mailed with the approval code (to the
    approver, or to their delegate): only the token's sha256 is kept. It authenticates
    its approver for this gate and round only, and is dead for deciding once the round
    ends (it then shows the decision)."""

    __tablename__ = "review_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    round: Mapped[int]
    approver_email: Mapped[str] = mapped_column(String(320), index=True)
    # Who the link was mailed to instead, answering for the approver (a delegation).
    delegate_email: Mapped[str | None] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class InboxLink(Base):
    """A personal link to an approver's inbox (every gate waiting on them), mailed with
        each gate request; only the token's sha256 is kept; `pmo tokens revoke` ends it (and
    the approver's review links with it)."""

    __tablename__ = "inbox_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    approver_email: Mapped[str] = mapped_column(String(320), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class GateScore(Base):
    """A gatekeeper's score (0 to 10) for a should-meet criterion, or yes/no (1/0) for a
    must-meet criterion no evidence settles, given with their accepted answer."""

    __tablename__ = "gate_scores"
    __table_args__ = (UniqueConstraint("gate_decision_id", "criterion_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_decision_id: Mapped[int] = mapped_column(ForeignKey("gate_decisions.id"))
    criterion_key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))  # score | check
    value: Mapped[int]


class DocumentRecord(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("project_id", "document_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stage_run_id: Mapped[int | None] = mapped_column(ForeignKey("stage_runs.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    document_key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    markdown_path: Mapped[str] = mapped_column(Text)
    docx_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    markdown_sha256: Mapped[str] = mapped_column(String(64))
    artifact_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Notification(Base):
    """A message we owe someone; `pending` until delivered, so a crash resends, never drops."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    # None: a message of no one project (the portfolio review).
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    transport: Mapped[str | None] = mapped_column(String(10))
    location: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StatusUpdateRecord(Base):
    """A status update the project manager submitted during a reporting stage, accepted or
    refused with the reason; `number` is its place in the stage attempt."""

    __tablename__ = "status_updates"
    __table_args__ = (UniqueConstraint("stage_run_id", "response_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id"))
    number: Mapped[int]
    response_key: Mapped[str] = mapped_column(String(120))
    # `prefect`: the Resume form, taken by the run; `cli`: `pmo status`, before it wakes the run.
    channel: Mapped[str] = mapped_column(String(20), default="prefect", server_default="prefect")
    reported_by: Mapped[str] = mapped_column(String(320))
    as_of: Mapped[date] = mapped_column(Date)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON)
    actual_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    forecast_finish: Mapped[date] = mapped_column(Date)
    forecast_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    scope_change_percent: Mapped[float] = mapped_column(Float, default=0.0)
    quality_shortfall_percent: Mapped[float] = mapped_column(Float, default=0.0)
    benefits_shortfall_percent: Mapped[float] = mapped_column(Float, default=0.0)
    commentary: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    risks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    issues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    complete: Mapped[bool] = mapped_column(default=False)
    accepted: Mapped[bool]
    refusal_field: Mapped[str | None] = mapped_column(String(120))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Actual cost to date per work package key, when reported so (`actual_cost` is their sum).
    actual_costs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Keys of the stage's activities the project manager confirmed done with this update.
    confirmed_activities: Mapped[list[Any] | None] = mapped_column(JSON)


class EvmSnapshot(Base):
    """Earned value and RAG of one accepted status update: the project's time series."""

    __tablename__ = "evm_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    status_update_id: Mapped[int] = mapped_column(ForeignKey("status_updates.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    as_of: Mapped[date] = mapped_column(Date)
    percent_complete: Mapped[float] = mapped_column(Float)
    bac: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    pv: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    ev: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    ac: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    spi: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    cpi: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    sv: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    cv: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    eac: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    vac: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # Per dimension: variance, tolerance, share used, colour (the tolerances in force).
    rag: Mapped[list[Any]] = mapped_column(JSON)
    overall: Mapped[str] = mapped_column(String(10))
    breached: Mapped[bool]
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The baseline the figures are measured against, and all of them under DESIGN.md's
    # `evm` keys (earned schedule included); None on rows older than migration 0009.
    baseline_number: Mapped[int | None]
    evm: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PlanSubmission(Base):
    """A plan the project manager submitted: at planning (`kind` plan) or with a change
    request (`kind` change, with its reason), accepted or refused with the reason. The
    last accepted one of a stage attempt is the plan its gate is asked to baseline."""

    __tablename__ = "plan_submissions"
    __table_args__ = (UniqueConstraint("stage_run_id", "response_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id"))
    response_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10), default="plan")
    # `brief`: the brief's `plan:`; `prefect`: the Resume form; `cli`: `pmo plan`/`pmo change`.
    channel: Mapped[str] = mapped_column(String(20))
    submitted_by: Mapped[str] = mapped_column(String(320))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    plan_hash: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    confirmed_activities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The change gate a change request opened (`change-<n>`); None for a planning submission.
    gate_key: Mapped[str | None] = mapped_column(String(80))
    accepted: Mapped[bool]
    refusal_field: Mapped[str | None] = mapped_column(String(120))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Baseline(Base):
    """An approved plan: baseline `number` of the project (1 at the plan-approval gate,
    one more per approved change), with the gate and round that approved it. Every
    baseline is kept; the one in force is the highest number."""

    __tablename__ = "baselines"
    __table_args__ = (UniqueConstraint("project_id", "number"), UniqueConstraint("gate_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    number: Mapped[int]
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan_hash: Mapped[str] = mapped_column(String(64))
    # The day the schedule starts: the plan's `start`, else the brief's start_date.
    start: Mapped[date] = mapped_column(Date)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("plan_submissions.id"))
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gates.id"))
    gate_round: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # What the plan asks for month by month (`pmo.plan.phased.PhasedFigures.as_data`),
    # computed once when it is approved: a portfolio of thousands reads these, not plans.
    # Null on rows older than the column; read then from the plan. Not audited: derived
    # from `plan`, which is.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RunState(Base):
    """One state a lifecycle run entered, as Prefect announced it (or, when that was missed,
    as its API told the audit).

    Keyed by Prefect's state id, which the state's `prefect.flow-run.*` event carries as its
    own id: a replayed event, or a state read both ways, is kept once.
    """

    __tablename__ = "run_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    flow_run_id: Mapped[str] = mapped_column(String(36), index=True)
    # The run's project when the state was recorded; none before the run wrote its project.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    state_type: Mapped[str] = mapped_column(String(20))
    state_name: Mapped[str] = mapped_column(String(60), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    source: Mapped[str] = mapped_column(String(10))  # event | api
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerEntry(Base):
    """One link of the audit ledger: a snapshot of an audited row as it was written.

    Appended by `pmo.store.ledger` in the transaction that wrote the row. `hash` covers
    the entry and the previous entry's hash, so an edited, removed or inserted entry
    breaks the chain; `prev_hash` is unique so two writers can never fork it.
    """

    __tablename__ = "audit_ledger"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    project_key: Mapped[str | None] = mapped_column(String(40))
    table_name: Mapped[str] = mapped_column(String(60))
    row_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(10))
    # Canonical JSON of the audited columns, hashed exactly as stored.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
