"""Portfolio audits built by hand from the real dataclasses, for report tests and the bench.

Each project answers the real `project-audit` checklist: Yes where the question has a
check, left for the auditor where it has none, and No (a finding) where a test says so.
"""

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from pmo.audit.bypass import Bypass
from pmo.audit.checklist import AuditAnswer, AuditArea
from pmo.audit.kpis import GateRound, ProjectStanding, Turnaround, portfolio_kpis
from pmo.audit.portfolio import Finding, PortfolioAudit, ProjectAudit
from pmo.audit.run_history import RunSelection
from pmo.store.ledger import LedgerHead
from pmo.store.ledger_verify import LedgerProblem
from process_library.checklist import load_checklist

CHECKLIST = load_checklist("project-audit")
QUESTIONS = {q.question: q for area in CHECKLIST.areas for q in area.questions}
CHARTER = "Is there a project charter on record?"
SEGREGATED = "Were gates decided by someone other than the project manager?"
MOVED_BY_GATES = "Did the lifecycle run pass its gates only through recorded answers?"
SLA = "Were the gates decided within their SLA?"
RAID = "Is a RAID log kept?"
GENERATED_AT = datetime(2027, 3, 1, 6, 5, tzinfo=UTC)
# pmbok-waterfall's gates, in its order (not the keys' alphabetical one), with SLAs of our own
GATES = (
    ("charter-approval", "Charter approval", 48.0),
    ("plan-approval", "Plan approval", 72.0),
    ("acceptance", "Acceptance", 120.0),
    ("closure-sign-off", "Closure sign-off", None),
)
STAGES = ("Initiation", "Planning", "Execution", "Closure")


def project_audit(
    key: str,
    *,
    name: str | None = None,
    no: Mapping[str, str] | None = None,
    stage: str | None = "Execution",
    status: str = "active",
    rag: str | None = None,
    spi: float | None = None,
    cpi: float | None = None,
    bypasses: Sequence[Bypass] = (),
) -> ProjectAudit:
    """A project whose checklist says No (with that evidence) to the questions in `no`."""
    no = dict(no or {})
    if bypasses:
        no.setdefault(MOVED_BY_GATES, "; ".join(b.what for b in bypasses))
    unknown = set(no) - set(QUESTIONS)
    assert not unknown, f"not in the checklist: {unknown}"
    areas = [
        AuditArea(
            area,
            [
                AuditAnswer(q, "No", no[q.question])
                if q.question in no
                else AuditAnswer(q, "Yes" if q.check else None, "on record" if q.check else "")
                for q in area.questions
            ],
        )
        for area in CHECKLIST.areas
    ]
    findings = [
        Finding(key, a.finding, area.area.name, a.question.question, a.comment)
        for area in areas
        for a in area.answers
        if a.finding is not None
    ]
    return ProjectAudit(
        key=key,
        name=name or f"Project {key.title()}",
        lifecycle="pmbok-waterfall",
        tier="medium",
        status=status,
        stage=stage,
        run_id=f"run-{key.lower()}",
        run_state="Suspended",
        rag=rag,
        spi=spi,
        cpi=cpi,
        areas=areas,
        findings=findings,
        bypasses=list(bypasses),
    )


def gate_round(
    project_key: str,
    gate: int,
    *,
    hours: float | None,
    outcome: str | None = "go",
    rounds: int = 1,
) -> GateRound:
    """The `gate`-th gate of GATES, decided `hours` after it opened (None: still open)."""
    key, name, sla = GATES[gate]
    opened = GENERATED_AT - timedelta(days=30 - 7 * gate)
    return GateRound(
        project_key=project_key,
        gate_key=key,
        gate_name=name,
        opened_at=opened,
        round_opened_at=opened,
        decided_at=None if hours is None else opened + timedelta(hours=hours),
        status="open" if hours is None else "decided",
        outcome=None if hours is None else outcome,
        rounds=rounds,
        sla_hours=sla,
    )


def portfolio(
    projects: Sequence[ProjectAudit],
    *,
    gate_rounds: Iterable[GateRound] = (),
    turnarounds: Iterable[Turnaround] = (),
    ledger_problems: Sequence[LedgerProblem] = (),
    selection: RunSelection | None = None,
    runs_without_project: Sequence[str] = (),
    generated_at: datetime = GENERATED_AT,
) -> PortfolioAudit:
    standings = [
        ProjectStanding(p.key, p.stage, p.status, p.rag, p.spi, p.cpi, p.compliant)
        for p in projects
    ]
    return PortfolioAudit(
        generated_at=generated_at,
        selection=selection or RunSelection(),
        runs_read=sum(p.run_id is not None for p in projects) + len(runs_without_project),
        projects=list(projects),
        kpis=portfolio_kpis(standings, gate_rounds, turnarounds),
        ledger_problems=list(ledger_problems),
        ledger_head=LedgerHead(seq=40 * len(projects), hash="ab" * 32) if projects else None,
        runs_without_project=list(runs_without_project),
    )


def synthetic_portfolio(count: int, seed: int = 7) -> PortfolioAudit:
    """`count` projects with the mix a large PMO sees: a third with a finding or more, most
    with gates decided, some with earned value, a few runs moved past a gate by hand."""
    pick = random.Random(seed)
    projects, rounds, answers = [], [], []
    findings = (CHARTER, SEGREGATED, SLA, RAID)
    for number in range(count):
        key = f"P{number:05d}"
        passed = pick.randint(0, 3)
        no = {
            question: f"{key}: evidence for '{question[:20]}' looked at, not found"
            for question in findings
            if pick.random() < 0.12
        }
        bypasses = (
            [Bypass(f"run-{key.lower()}", GENERATED_AT, "state set to Running by hand")]
            if pick.random() < 0.02
            else []
        )
        earned = pick.random() < 0.6
        projects.append(
            project_audit(
                key,
                no=no,
                stage=STAGES[passed],
                status=pick.choice(("active", "active", "active", "on-hold", "closed")),
                rag=pick.choice(("green", "amber", "red")) if earned else None,
                spi=round(pick.uniform(0.6, 1.2), 2) if earned else None,
                cpi=round(pick.uniform(0.6, 1.2), 2) if earned else None,
                bypasses=bypasses,
            )
        )
        for gate in range(passed + 1):
            decided = gate < passed or pick.random() < 0.5
            outcome = pick.choice(("go",) * 8 + ("recycle", "kill"))
            hours = pick.uniform(2, 200) if decided else None
            rounds.append(gate_round(key, gate, hours=hours, outcome=outcome))
            if decided:
                answers += [Turnaround(role, pick.uniform(1, 150)) for role in ("sponsor", "pmo")]
    return portfolio(projects, gate_rounds=rounds, turnarounds=answers)
