"""What the audit ledger covers, as data, and the canonical form of an audited row.

A table or column joins the audit by a line in `AUDITED`, never by code. The canonical
form is what makes a row hash the same when it was just written and when it is read back
later, on SQLite or PostgreSQL.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    FromClause,
    Select,
    Table,
    Text,
    cast,
    select,
    type_coerce,
)

from pmo.store.models import Base, UtcDateTime


@dataclass(frozen=True)
class Audited:
    """How one table is audited: its columns, and how a row leads to its project."""

    label: str  # what an auditor calls one row: "gate decision"
    column_names: str  # space-separated
    # "<foreign key column> <table it points to>", one step towards `projects`; "" on projects.
    parent_link: str = ""
    columns: tuple[str, ...] = field(init=False)
    parent: tuple[str, str] | None = field(init=False)

    def __post_init__(self) -> None:
        # Sorted, as in the canonical JSON, so a row's values go into it in the order read.
        object.__setattr__(self, "columns", tuple(sorted(self.column_names.split())))
        link = self.parent_link.split()
        object.__setattr__(self, "parent", (link[0], link[1]) if link else None)


AUDITED: dict[str, Audited] = {
    "projects": Audited(
        "project",
        "key name lifecycle lifecycle_version lifecycle_definition tier status current_stage "
        "budget currency project_manager_email brief flow_run_id created_at closed_at "
        "close_reason",
    ),
    "stage_runs": Audited(
        "stage run",
        "project_id stage_key stage_name attempt status started_at finished_at lifecycle_version",
        "project_id projects",
    ),
    # Which methodology governed the project when, and who moved it onto another version.
    "project_lifecycles": Audited(
        "pinned lifecycle",
        "project_id seq lifecycle version digest definition tailoring mapping entry_stage "
        "pinned_by reason pinned_at",
        "project_id projects",
    ),
    # Not waiting_key and waits: where the run waits, which says nothing of the decision.
    "gates": Audited(
        "gate",
        "project_id stage_run_id kind gate_key gate_name status round outcome flow_run_id "
        "opened_at round_opened_at decided_at wrong_codes locked_at escalated_at",
        "project_id projects",
    ),
    "gate_decisions": Audited(
        "gate decision",
        "gate_id round response_key approver_email roles decision comment conditions accepted "
        "refusal_reason refusal_kind channel flow_run_id received_at on_behalf_of",
        "gate_id gates",
    ),
    # The scores and yes/no a gatekeeper gave with an answer: what the funding line ranks by.
    "gate_scores": Audited(
        "gate score",
        "gate_decision_id criterion_key kind value",
        "gate_decision_id gate_decisions",
    ),
    "documents": Audited(
        "document",
        "project_id stage_run_id idempotency_key document_key title version markdown_path "
        "docx_path sha256 markdown_sha256 artifact_key created_at",
        "project_id projects",
    ),
    "approval_codes": Audited(
        "approval code",
        "gate_id round approver_email code_hash issued_at used_at",
        "gate_id gates",
    ),
    # A project manager's status reports: what was reported, and what it was judged to be.
    "status_updates": Audited(
        "status update",
        "project_id stage_run_id number response_key reported_by as_of progress actual_cost "
        "forecast_finish forecast_cost scope_change_percent quality_shortfall_percent "
        "benefits_shortfall_percent commentary note risks issues complete accepted "
        "refusal_field refusal_reason channel received_at actual_costs confirmed_activities",
        "project_id projects",
    ),
    "evm_snapshots": Audited(
        "earned value snapshot",
        "status_update_id project_id as_of percent_complete bac pv ev ac spi cpi sv cv eac vac "
        "rag overall breached recorded_at baseline_number evm",
        "project_id projects",
    ),
    # Plans proposed at planning and with change requests, and every approved baseline
    # with its hash: the baseline changes only through a recorded gate decision.
    "plan_submissions": Audited(
        "plan submission",
        "project_id stage_run_id response_key kind channel submitted_by plan plan_hash reason "
        "confirmed_activities gate_key accepted refusal_field refusal_reason received_at",
        "project_id projects",
    ),
    "baselines": Audited(
        "baseline",
        "project_id number plan plan_hash start submission_id gate_id gate_round reason "
        "approved_at",
        "project_id projects",
    ),
    # Every state a lifecycle run entered, from Prefect's events: how each run left its
    # gates, kept where a later change to Prefect's history cannot reach.
    "run_states": Audited(
        "run state",
        "event_id flow_run_id project_id state_type state_name message occurred_at source",
        "project_id projects",
    ),
}

TABLES: dict[str, Table] = {name: Base.metadata.tables[name] for name in AUDITED}
# One commit's entries in the order a reader expects: a project before its gates.
TABLE_ORDER = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}


def audited_table(table: object) -> str | None:
    """The name of an audited table; None for any other, including another app's namesake."""
    name = getattr(table, "name", "")
    return name if TABLES.get(name) is table else None


def audited_rows(table_name: str, ids: Iterable[int] | None = None) -> Select[Any]:
    """Select `id`, the audited columns and `project_key` of a table's rows."""
    table = TABLES[table_name]
    joined: FromClause = table
    current, spec = table, AUDITED[table_name]
    while spec.parent is not None:
        column, parent_name = spec.parent
        parent = TABLES[parent_name]
        joined = joined.outerjoin(parent, current.c[column] == parent.c.id)
        current, spec = parent, AUDITED[parent_name]
    columns = [table.c.id, *(raw_column(table.c[c]) for c in AUDITED[table_name].columns)]
    query = select(*columns, current.c.key.label("project_key")).select_from(joined)
    return query if ids is None else query.where(table.c.id.in_(list(ids)))


# Values JSON already writes one way only; everything else goes through canonical_value.
_AS_IS = {type(None), bool, int, str}
_ISO_UTC = "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00"
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def raw_column(column: ColumnElement[Any]) -> ColumnElement[Any]:
    # Times as the driver returns them: canonical_value puts them in UTC itself, faster
    # than UtcDateTime's conversion of every value first (verification reads many).
    if isinstance(column.type, UtcDateTime):
        return type_coerce(column, DateTime(timezone=True)).label(column.key)
    # A document (a brief, a pinned lifecycle) as the text stored: row_payload digests it
    # without parsing it, which at thousands of projects is most of verification's time.
    if isinstance(column.type, JSON):
        return cast(column, Text).label(column.key)
    return column


def canonical_value(value: Any) -> Any:
    """A column value as JSON, identical whether it was just written or read back."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, datetime):
        # As isoformat(timespec="microseconds") in UTC; a naive time is UTC (SQLite's).
        if value.tzinfo is not None and value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return _ISO_UTC % (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        # 250000, 250000.0 and 250000.00 are one budget; "f" keeps exponents out.
        number = Decimal(str(value)).normalize()
        return format(number, "f") if number else "0"
    if isinstance(value, dict | list):
        # A whole brief or lifecycle is kept as its digest: tamper-evident, yet small.
        return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()
    if isinstance(value, bool | int | str):  # subclasses, such as an enum's value
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return _ENCODER.encode(value)


def canonical_payload(row: Mapping[str, Any], columns: Iterable[str]) -> str:
    """The audited columns of a row as canonical JSON: the text a ledger entry keeps."""
    return canonical_json({column: canonical_value(row[column]) for column in columns})


def _needs_converting(table_name: str) -> tuple[int, ...]:
    table = TABLES[table_name]
    plain = (str, int, bool)
    return tuple(
        position
        for position, column in enumerate(AUDITED[table_name].columns)
        if table.c[column].type.python_type not in plain
        and not isinstance(table.c[column].type, JSON)
    )


def _stored_text(table_name: str) -> tuple[int, ...]:
    table = TABLES[table_name]
    return tuple(
        position
        for position, column in enumerate(AUDITED[table_name].columns)
        if isinstance(table.c[column].type, JSON)
    )


# Per table, the positions of the columns whose values are not already JSON (times,
# amounts, documents): the only ones `row_payload` must convert.
_CONVERTED = {name: _needs_converting(name) for name in AUDITED}
_STORED_TEXT = {name: _stored_text(name) for name in AUDITED}
_IN_ORDER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def row_payload(table_name: str, values: Sequence[Any]) -> str:
    """`canonical_payload` of a row as `audited_rows` reads it, without its id and project
    key: the fast path, for verification reads every audited row."""
    columns = AUDITED[table_name].columns
    snapshot = dict(zip(columns, values, strict=True))
    for position in _CONVERTED[table_name]:
        if (value := values[position]) is not None:
            snapshot[columns[position]] = canonical_value(value)
    for position in _STORED_TEXT[table_name]:
        if (value := values[position]) is not None:
            snapshot[columns[position]] = "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return _IN_ORDER.encode(snapshot)  # columns are sorted already
