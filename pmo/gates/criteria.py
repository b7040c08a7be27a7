"""A gate's scorecard: the criteria the system can check from evidence, and the rest."""

from dataclasses import dataclass

from pmo.brief import ProjectBrief
from pmo.control.planning import PlanFigures
from process_library.schema import Criterion, Gate


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    met: bool | None  # None: for the gatekeepers to judge at the review
    evidence: str


def check_criterion(
    criterion: Criterion,
    brief: ProjectBrief,
    produced: set[str],
    plan: PlanFigures | None = None,
) -> CriterionResult:
    """Check one criterion against what the stage produced, what the brief holds and the
    plan proposed (shown with its figures: a late or dear plan is the gate's to judge)."""
    if criterion.evidence is None:
        return CriterionResult(criterion, None, "Judged by the gatekeepers at this review")
    kind, _, name = criterion.evidence.partition(":")
    if kind == "plan":
        if plan is None:
            return CriterionResult(criterion, False, "No plan was submitted in this stage")
        if name == "finish":
            return CriterionResult(criterion, plan.on_time, plan.finish_evidence())
        if name == "cost":
            return CriterionResult(criterion, plan.within_budget, plan.cost_evidence())
        return CriterionResult(criterion, None, f"No plan figure '{name}'; judged at the review")
    if kind == "document":
        met = name in produced
        found = "produced in this stage" if met else "not produced in this stage"
        return CriterionResult(criterion, met, f"Document '{name}' {found}")
    value = getattr(brief, name, None)
    met = bool(value)
    return CriterionResult(criterion, met, f"Brief field '{name}' {'filled' if met else 'empty'}")


def scorecard(
    gate: Gate, brief: ProjectBrief, produced: set[str], plan: PlanFigures | None = None
) -> dict[str, list[CriterionResult]]:
    return {
        "must_meet": [check_criterion(c, brief, produced, plan) for c in gate.must_meet],
        "should_meet": [check_criterion(c, brief, produced, plan) for c in gate.should_meet],
    }
