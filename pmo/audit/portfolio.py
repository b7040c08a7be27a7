"""The PMO's audit of its portfolio: did every project follow the methodology, and how is
the portfolio doing? Answered from evidence only: Prefect's run history and the store.

`audit_portfolio` is what both `pmo audit` and the `pmo-audit` flow call.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from pmo.audit.bypass import Bypass, find_bypasses
from pmo.audit.checklist import AuditArea, Evidence, answer_checklist
from pmo.audit.kpis import (
    GateRound,
    PortfolioKpis,
    ProjectStanding,
    Turnaround,
    hours_between,
    portfolio_kpis,
)
from pmo.audit.ledger_anchor import read_anchor, save_anchor
from pmo.audit.records import ProjectRecord, load_records
from pmo.audit.run_history import RunHistory, RunSelection, read_lifecycle_runs
from pmo.brief import ProjectBrief
from pmo.errors import PmoInputError
from pmo.store import session_scope
from pmo.store.ledger import LedgerHead, ledger_head
from pmo.store.ledger_verify import LedgerProblem, verify_ledger
from pmo.store.models import utcnow
from process_library.checklist import load_checklist


@dataclass(frozen=True)
class Finding:
    """One "No" of the audit, typed as the checklist says, with the evidence behind it."""

    project_key: str
    type: str  # control gap | evidence gap | delivery risk
    area: str
    question: str
    evidence: str


@dataclass(frozen=True)
class ProjectAudit:
    key: str
    name: str
    lifecycle: str
    tier: str
    status: str
    stage: str | None
    run_id: str | None
    run_state: str | None
    rag: str | None
    spi: float | None
    cpi: float | None
    areas: list[AuditArea]
    findings: list[Finding]
    bypasses: list[Bypass]

    @property
    def compliant(self) -> bool:
        return not any(f.type == "control gap" for f in self.findings)


@dataclass(frozen=True)
class PortfolioAudit:
    generated_at: datetime
    selection: RunSelection
    runs_read: int
    projects: list[ProjectAudit]
    kpis: PortfolioKpis
    ledger_problems: list[LedgerProblem]
    ledger_head: LedgerHead | None
    runs_without_project: list[str] = field(default_factory=list)
    # Runs whose history the store did not have whole, so Prefect's API was asked for it.
    histories_fetched: int = 0

    @property
    def findings(self) -> list[Finding]:
        return [f for p in self.projects for f in p.findings]

    @property
    def tampered(self) -> bool:
        return bool(self.ledger_problems)


class UnknownProject(PmoInputError):
    """`--project` names a project neither the store nor Prefect knows."""


def run_audit(selection: RunSelection, *, fresh: bool = False) -> PortfolioAudit:
    """The audit as `pmo audit` and the `pmo-audit` flow run it: against the ledger head the
    last audit saw, which moves on only while the ledger is intact, so a tampered record
    is reported at every audit until the PMO has dealt with it."""
    audit = audit_portfolio(selection, previous_head=read_anchor(), fresh=fresh)
    if not audit.tampered and audit.ledger_head is not None:
        save_anchor(audit.ledger_head)
    return audit


def audit_portfolio(
    selection: RunSelection,
    *,
    previous_head: LedgerHead | None = None,
    fresh: bool = False,
) -> PortfolioAudit:
    """Audit every project the selection names; `previous_head` is the ledger head the last
    audit saw, so a ledger cut back behind it is caught. `fresh` asks Prefect for every
    run's history, not only for what the store has not recorded."""
    if selection.since is not None and selection.since > utcnow():
        raise PmoInputError("--since", f"{selection.since:%Y-%m-%d} is in the future")
    read = read_lifecycle_runs(selection, fresh=fresh)
    runs = read.runs
    with session_scope() as session:
        records = load_records(session, project_key=selection.project_key, since=selection.since)
        if selection.project_key and not records and not runs:
            raise UnknownProject(
                "--project", f"no project '{selection.project_key}' in the store or in Prefect"
            )
        # The head first: what the next audit checks for is then at most what was verified.
        head = ledger_head(session)
        problems = verify_ledger(session, head=previous_head)
    by_run = {run.run_id: run for run in runs}
    ledger_by_project: dict[str, list[LedgerProblem]] = {}
    for problem in problems:
        ledger_by_project.setdefault(problem.project_key or "", []).append(problem)
    checklist_names = {r.lifecycle.audit_checklist for r in records}
    checklists = {name: load_checklist(name) for name in checklist_names}
    files = document_problems(records)
    rounds = {record.key: gate_rounds(record) for record in records}
    audits = [
        _audit_project(
            record,
            by_run.get(record.project.flow_run_id or ""),
            checklists[record.lifecycle.audit_checklist],
            ledger_by_project.get(record.key, []),
            files[record.key],
            rounds[record.key],
        )
        for record in records
    ]
    known_runs = {r.project.flow_run_id for r in records}
    return PortfolioAudit(
        generated_at=utcnow(),
        selection=selection,
        runs_read=len(runs),
        projects=audits,
        kpis=portfolio_kpis(
            [_standing(a) for a in audits],
            [g for project_rounds in rounds.values() for g in project_rounds],
            [t for r in records for t in turnarounds(r)],
        ),
        ledger_problems=problems,
        ledger_head=head,
        runs_without_project=[r.run_id for r in runs if r.run_id not in known_runs],
        histories_fetched=read.fetched,
    )


def _audit_project(
    record: ProjectRecord,
    run: RunHistory | None,
    checklist: Any,
    tampering: list[LedgerProblem],
    files: list[str],
    rounds: list[GateRound],
) -> ProjectAudit:
    project = record.project
    bypasses = (
        find_bypasses(
            run,
            project_status=project.status,
            waiting_at=record.waiting_at(),
            reasons=record.run_reasons(),
        )
        if run is not None
        else []
    )
    evidence = Evidence(
        brief=ProjectBrief.model_validate(project.brief),
        lifecycle=record.lifecycle,
        documents=record.documents,
        decisions=record.decision_lines(),
        history=record.stage_lines(),
        refused_answers=record.refused_answers,
        authorities=record.authorities(),
        bypasses=bypasses if run is not None else None,
        gate_rounds=rounds,
        document_problems=files,
        versions=record.versions,
    )
    areas = answer_checklist(checklist, evidence)
    findings = [
        Finding(project.key, a.finding, area.area.name, a.question.question, a.comment)
        for area in areas
        for a in area.answers
        if a.finding is not None
    ]
    if run is None and project.flow_run_id:
        findings.append(
            Finding(
                project.key,
                "evidence gap",
                "Governance",
                "Is the project's lifecycle run in Prefect's history?",
                f"run {project.flow_run_id} is not in Prefect's history (deleted, or "
                "another Prefect server)",
            )
        )
    findings += [
        Finding(project.key, "control gap", "Governance", "Is the record unaltered?", p.message)
        for p in tampering
    ]
    evm = record.latest_evm
    return ProjectAudit(
        key=project.key,
        name=project.name,
        lifecycle=project.lifecycle,
        tier=project.tier,
        status=project.status,
        stage=project.current_stage,
        run_id=project.flow_run_id,
        run_state=run.state_name if run else None,
        rag=evm.overall if evm else None,
        spi=float(evm.spi) if evm and evm.spi is not None else None,
        cpi=float(evm.cpi) if evm and evm.cpi is not None else None,
        areas=areas,
        findings=findings,
        bypasses=bypasses,
    )


def _standing(audit: ProjectAudit) -> ProjectStanding:
    return ProjectStanding(
        audit.key, audit.stage, audit.status, audit.rag, audit.spi, audit.cpi, audit.compliant
    )


def gate_rounds(record: ProjectRecord) -> list[GateRound]:
    rounds = []
    for gate in record.gates:
        definition = record.gate_definition(gate)
        rounds.append(
            GateRound(
                project_key=record.key,
                gate_key=definition.key if definition else gate.gate_key,
                gate_name=gate.gate_name,
                opened_at=gate.opened_at,
                round_opened_at=gate.round_opened_at or gate.opened_at,
                decided_at=gate.decided_at,
                status=gate.status,
                outcome=gate.outcome,
                rounds=gate.round,
                sla_hours=definition.timing.sla_hours if definition else None,
            )
        )
    return rounds


def turnarounds(record: ProjectRecord) -> list[Turnaround]:
    """Hours from a gate round opening to each approver's accepted answer, by their role."""
    gates = {g.id: g for g in record.gates}
    found = []
    for decision in record.decisions:
        if not decision.accepted or decision.channel == "policy":
            continue
        gate = gates[decision.gate_id]
        if decision.round == 1:
            opened = gate.opened_at
        elif decision.round == gate.round and gate.round_opened_at:
            opened = gate.round_opened_at
        else:
            continue  # an earlier held round: when it opened is no longer on record
        hours = hours_between(opened, decision.received_at)
        for role in decision.roles.split(",") if decision.roles else ["unnamed"]:
            found.append(Turnaround(role.strip(), max(hours, 0.0)))
    return found


def document_problems(records: list[ProjectRecord]) -> dict[str, list[str]]:
    """Per project, the latest version of each document: are its files there, as the store
    hashed them? (One thread: threads made reading 120,000 small files four times slower.)"""
    checks = []
    for record in records:
        latest: dict[str, Row] = {d.document_key: d for d in record.documents}
        for document in latest.values():
            name = f"{document.title} v{document.version}"
            checks.append((record.key, name, ".docx", document.docx_path, document.sha256))
            checks.append(
                (record.key, name, "Markdown", document.markdown_path, document.markdown_sha256)
            )
    problems: dict[str, list[str]] = {record.key: [] for record in records}
    for key, name, kind, path, recorded in checks:
        digest = _sha256(path)
        if digest is None:
            problems[key].append(f"{name}: the {kind} file {path} is missing")
        elif digest != recorded:
            problems[key].append(f"{name}: the {kind} file {path} does not match its sha256")
    return problems


def _sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return None


def audit_json(audit: PortfolioAudit) -> dict[str, Any]:
    """The audit for scripts: these keys are kept stable; new keys may be added."""
    kpis = audit.kpis
    return {
        "generated_at": audit.generated_at.isoformat(),
        "selection": {
            "project": audit.selection.project_key,
            "since": audit.selection.since.isoformat() if audit.selection.since else None,
        },
        "runs_read": audit.runs_read,
        "histories_fetched": audit.histories_fetched,
        "ledger": {
            "intact": not audit.tampered,
            "head": audit.ledger_head._asdict() if audit.ledger_head else None,
            "problems": [
                {
                    "kind": p.kind,
                    "project": p.project_key,
                    "table": p.table,
                    "row_id": p.row_id,
                    "seq": p.seq,
                    "message": p.message,
                }
                for p in audit.ledger_problems
            ],
        },
        "projects": [
            {
                "key": p.key,
                "name": p.name,
                "lifecycle": p.lifecycle,
                "tier": p.tier,
                "status": p.status,
                "stage": p.stage,
                "run_id": p.run_id,
                "run_state": p.run_state,
                "rag": p.rag,
                "spi": p.spi,
                "cpi": p.cpi,
                "compliant": p.compliant,
                "checklist": [
                    {
                        "area": area.area.name,
                        "question": a.question.question,
                        "answer": a.answer,
                        "comment": a.comment,
                        "finding": a.finding,
                    }
                    for area in p.areas
                    for a in area.answers
                ],
                "bypasses": [
                    {"run_id": b.run_id, "at": b.at.isoformat(), "what": b.what} for b in p.bypasses
                ],
            }
            for p in audit.projects
        ],
        "findings": [
            {
                "project": f.project_key,
                "type": f.type,
                "area": f.area,
                "question": f.question,
                "evidence": f.evidence,
            }
            for f in audit.findings
        ],
        "runs_without_project": audit.runs_without_project,
        "kpis": {
            "projects": kpis.projects,
            "by_stage": kpis.by_stage,
            "by_status": kpis.by_status,
            "by_rag": kpis.by_rag,
            "compliance_rate": kpis.compliance_rate,
            "gates_within_sla_share": kpis.within_sla_share,
            "gates": [
                {
                    "gate": g.gate_key,
                    "name": g.gate_name,
                    "decided": g.decided,
                    "cycle_hours_p50": g.cycle_hours.p50,
                    "cycle_hours_p90": g.cycle_hours.p90,
                    "within_sla_share": g.within_sla_share,
                    "outcomes": g.outcomes,
                }
                for g in kpis.gates
            ],
            "approval_turnaround_hours": {
                role: {"answers": s.count, "p50": s.p50, "p90": s.p90}
                for role, s in kpis.turnaround_by_role.items()
            },
            "spi": {"projects": kpis.spi.count, "p50": kpis.spi.p50, "p90": kpis.spi.p90},
            "cpi": {"projects": kpis.cpi.count, "p50": kpis.cpi.p50, "p90": kpis.cpi.p90},
        },
    }
