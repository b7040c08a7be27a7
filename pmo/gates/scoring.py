"""The gatekeepers' scorecard of a gate round: each gatekeeper's scores, their mean and
spread per criterion, the weighted score, and the yes/no on the must-meet criteria no
evidence settles. The funding line ranks projects by the weighted score."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from pmo.store.models import Gate, GateDecision, GateScore
from pmo.store.records import decision_scores, gate_decisions
from process_library.portfolio import load_portfolio_policy
from process_library.schema import Criterion
from process_library.schema import Gate as GateDefinition


@dataclass(frozen=True)
class CriterionScores:
    criterion: Criterion
    by_gatekeeper: dict[str, int]

    @property
    def mean(self) -> Decimal | None:
        if not self.by_gatekeeper:
            return None
        total = Decimal(sum(self.by_gatekeeper.values()))
        return (total / len(self.by_gatekeeper)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def spread(self) -> int | None:
        """Highest minus lowest score: how far the gatekeepers disagree."""
        values = list(self.by_gatekeeper.values())
        return max(values) - min(values) if values else None


@dataclass(frozen=True)
class JudgedCriterion:
    criterion: Criterion
    by_gatekeeper: dict[str, bool]


@dataclass(frozen=True)
class Scorecard:
    scored: list[CriterionScores]
    judged: list[JudgedCriterion]
    gatekeepers: list[str]  # who answered with scores, in answer order

    @property
    def weighted(self) -> Decimal | None:
        """The weights' average of the criteria's mean scores, 0 to 10; None when nobody
        scored. A criterion nobody scored is left out, not counted as zero."""
        rated = [(c.criterion.weight, c.mean) for c in self.scored if c.mean is not None]
        if not rated:
            return None
        total = sum(Decimal(weight) * mean for weight, mean in rated)
        weights = sum(weight for weight, _ in rated)
        return (total / weights).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def spread(self) -> int | None:
        spreads = [c.spread for c in self.scored if c.spread is not None]
        return max(spreads) if spreads else None

    @property
    def unmet(self) -> list[str]:
        """Must-meet criteria some gatekeeper answered 'no'."""
        return [j.criterion.key for j in self.judged if not all(j.by_gatekeeper.values())]

    def as_dict(self) -> dict:
        return {
            "weighted": None if self.weighted is None else float(self.weighted),
            "spread": self.spread,
            "gatekeepers": self.gatekeepers,
            "criteria": {
                c.criterion.key: {
                    "weight": c.criterion.weight,
                    "mean": None if c.mean is None else float(c.mean),
                    "spread": c.spread,
                    "scores": c.by_gatekeeper,
                }
                for c in self.scored
            },
            "must_meet": {j.criterion.key: j.by_gatekeeper for j in self.judged},
        }


def round_scorecard(
    session: Session, *, gate: Gate, definition: GateDefinition, round: int
) -> Scorecard:
    """The scorecard of the accepted answers of one round of a gate."""
    decisions = gate_decisions(session, gate=gate, round=round)
    return scorecard_of(definition, decisions, decision_scores(session, decisions=decisions))


def scorecard_of(
    definition: GateDefinition,
    decisions: list[GateDecision],
    scores: dict[int, list[GateScore]],
) -> Scorecard:
    """The scorecard of some accepted answers and the scores given with each."""
    given: dict[str, dict[str, int]] = {}
    checked: dict[str, dict[str, bool]] = {}
    gatekeepers = []
    for decision in decisions:
        rows = scores.get(decision.id, [])
        if rows:
            gatekeepers.append(decision.approver_email)
        for row in rows:
            if row.kind == "score":
                given.setdefault(row.criterion_key, {})[decision.approver_email] = row.value
            else:
                checked.setdefault(row.criterion_key, {})[decision.approver_email] = bool(row.value)
    return Scorecard(
        scored=[CriterionScores(c, given.get(c.key, {})) for c in definition.scored],
        judged=[JudgedCriterion(c, checked.get(c.key, {})) for c in definition.judged],
        gatekeepers=gatekeepers,
    )


def funding_shortfall(
    session: Session, *, gate: Gate, definition: GateDefinition, round: int
) -> str | None:
    """At the gate that commits a project's money: why its go falls short of the portfolio
    policy's funding score, or None. A round nobody scored is not held back here (the
    audit reports a funding gate passed unscored)."""
    if not definition.funds_project:
        return None
    weighted = round_scorecard(session, gate=gate, definition=definition, round=round).weighted
    bar = load_portfolio_policy().funding_gate_score
    if weighted is None or weighted >= bar:
        return None
    return (
        f"the gatekeepers' weighted score {weighted} is below the funding score {bar} "
        "(process_library/portfolio.yaml): the project waits for a new decision"
    )
