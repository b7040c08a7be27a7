"""Figures derived from a brief that documents and gates show: no invention, only arithmetic."""

from dataclasses import dataclass
from datetime import date, timedelta

from pmo.brief import ProjectBrief, Risk
from process_library.schema import Lifecycle

LEVEL_SCORE = {"low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class RatedRisk:
    risk: Risk
    score: int
    rating: str


def risk_score(probability: str, impact: str) -> int:
    """Probability x impact on a 3 x 3 matrix, 1 to 9."""
    return LEVEL_SCORE[probability] * LEVEL_SCORE[impact]


def rate_risk(risk: Risk) -> RatedRisk:
    """Probability x impact on a 3 x 3 matrix: 6 and above High, 3 and above Medium."""
    score = risk_score(risk.probability, risk.impact)
    rating = "High" if score >= 6 else "Medium" if score >= 3 else "Low"
    return RatedRisk(risk, score, rating)


def rated_risks(brief: ProjectBrief) -> list[RatedRisk]:
    return sorted((rate_risk(r) for r in brief.risks), key=lambda r: -r.score)


@dataclass(frozen=True)
class Milestone:
    name: str
    stage: str
    due: date


def gate_milestones(brief: ProjectBrief, lifecycle: Lifecycle) -> list[Milestone]:
    """One milestone per gate, the schedule divided evenly between the stages.

    An even split is what the brief supports; a plan baseline that knows better replaces it.
    """
    span = (brief.target_end_date - brief.start_date).days
    count = len(lifecycle.stages)
    return [
        Milestone(
            name=stage.gate.name,
            stage=stage.name,
            due=brief.start_date + timedelta(days=round(span * (index + 1) / count)),
        )
        for index, stage in enumerate(lifecycle.stages)
    ]


def duration_days(brief: ProjectBrief) -> int:
    return (brief.target_end_date - brief.start_date).days
