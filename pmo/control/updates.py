"""A status update from the project manager: checked against the baseline in force, then
turned into earned value (on the baseline's schedule) and RAG.

Pure code shared by `pmo status` (which checks before it resumes the run, so bad input
changes nothing) and the lifecycle flow (which checks again: the Resume form's input is
validated by Prefect's server against the form's schema only). Progress and actual cost
are keyed by the baseline's work package keys (WBS codes).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pydantic import ValidationError

from pmo.brief import Level, ProjectBrief
from pmo.control import evm
from pmo.control.analysis import LEVEL_SCORE
from pmo.errors import StatusRefused
from pmo.plan.evm import EarnedValue, earned_value
from pmo.plan.schedule import Schedule
from process_library.schema import Rag, Tolerances


@dataclass(frozen=True)
class ReportedRisk:
    """A new risk the project manager reports with an update."""

    description: str
    probability: Level = "medium"
    impact: Level = "medium"

    @property
    def score(self) -> int:
        return LEVEL_SCORE[self.probability] * LEVEL_SCORE[self.impact]


@dataclass(frozen=True)
class StatusUpdate:
    """What the project manager reports: percent complete per work package key, cost to
    date (in total, or per work package key in `actual_costs`, then `actual_cost` is their
    sum), the forecast, commentary, new risks and issues, the activities confirmed done."""

    as_of: date
    progress: dict[str, float]
    actual_cost: Decimal
    forecast_finish: date
    forecast_cost: Decimal
    scope_change_percent: float = 0.0
    quality_shortfall_percent: float = 0.0
    benefits_shortfall_percent: float = 0.0
    commentary: str = ""
    note: str = ""
    risks: tuple[ReportedRisk, ...] = ()
    issues: tuple[str, ...] = ()
    complete: bool = False
    actual_costs: dict[str, Decimal] | None = None
    confirmed_activities: tuple[str, ...] = ()


def work_packages(schedule: Schedule) -> dict[str, str]:
    """The work packages progress is reported against: the baseline's, key -> name."""
    return {key: s.package.name for key, s in schedule.packages.items()}


def check_keys(field: str, given: dict, schedule: Schedule) -> None:
    """Every key names a work package of the baseline."""
    for key in given:
        if key not in schedule.packages:
            sample = ", ".join(list(schedule.packages)[:5])
            raise StatusRefused(
                f"{field}[{key}]",
                f"no work package '{key}' in the baseline (its keys: {sample}"
                + (", ...)" if len(schedule.packages) > 5 else ")"),
            )


def check_update(
    update: StatusUpdate,
    *,
    brief: ProjectBrief,
    schedule: Schedule,
    previous: dict[str, float],
    previous_as_of: date | None,
) -> dict[str, float]:
    """Refuse an update a project manager could not mean; returns the progress of every
    work package of the baseline after it (packages not reported keep their last percent).

    Each key must be a work package of the baseline; percent complete must lie in 0 to
    100 and may go back only with a note saying why; costs cannot be negative; the
    forecast cannot finish before the project starts.
    """
    progress = {str(key).strip(): percent for key, percent in update.progress.items()}
    check_keys("progress", progress, schedule)
    check_keys("actual_cost", update.actual_costs or {}, schedule)
    for key, amount in (update.actual_costs or {}).items():
        if not Decimal(amount).is_finite() or amount < 0:
            raise StatusRefused(f"actual_cost[{key}]", f"{amount} is not a cost to date")
    for name, percent in progress.items():
        if not 0 <= percent <= 100:
            raise StatusRefused(
                f"progress[{name}]", f"percent complete {percent:g} is outside 0 to 100"
            )
        before = previous.get(name, 0.0)
        if percent < before and not update.note.strip():
            raise StatusRefused(
                f"progress[{name}]",
                f"percent complete went back from {before:g} to {percent:g}; "
                "give a note saying why",
            )
    for name in ("actual_cost", "forecast_cost"):
        if not Decimal(getattr(update, name)).is_finite():
            raise StatusRefused(name, f"{getattr(update, name)} is not an amount")
        if getattr(update, name) < 0:
            raise StatusRefused(name, f"{getattr(update, name)} is negative; a cost cannot be")
    for name in ("scope_change_percent", "quality_shortfall_percent", "benefits_shortfall_percent"):
        if not 0 <= getattr(update, name) <= 100:
            raise StatusRefused(name, f"{getattr(update, name):g} is outside 0 to 100")
    if update.forecast_finish < brief.start_date:
        raise StatusRefused(
            "forecast_finish",
            f"{update.forecast_finish} is before the project's start {brief.start_date}",
        )
    if update.as_of < brief.start_date:
        raise StatusRefused("as_of", f"{update.as_of} is before the project's start")
    if previous_as_of is not None and update.as_of < previous_as_of:
        raise StatusRefused(
            "as_of", f"{update.as_of} is before the last update's date {previous_as_of}"
        )
    for index, risk in enumerate(update.risks, start=1):
        if not risk.description.strip():
            raise StatusRefused(f"risks[{index}]", "a risk needs a description")
    return {key: previous.get(key, 0.0) for key in schedule.packages} | progress


@dataclass(frozen=True)
class Assessment:
    """An update's figures: progress, earned value, each dimension's RAG, the breaches."""

    progress: dict[str, float]
    percent_complete: float
    figures: EarnedValue
    statuses: list[evm.DimensionStatus]
    overall: evm.Colour
    breaches: list[evm.DimensionStatus] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(p >= 100 for p in self.progress.values())


def assess(
    update: StatusUpdate,
    *,
    brief: ProjectBrief,
    progress: dict[str, float],
    risks_so_far: list[int],
    tolerances: Tolerances,
    rag: Rag,
    schedule: Schedule,
) -> Assessment:
    """Earned value of the checked progress on the baseline's schedule, and RAG against
    the tolerances in force. `risks_so_far` are the scores of the risks reported with
    earlier updates; the brief's risks count too."""
    figures = earned_value(
        schedule,
        as_of=update.as_of,
        progress=progress,
        actual_cost=update.actual_costs or update.actual_cost,
    )
    percent = round(float(100 * figures.ev / figures.bac), 2) if figures.bac else 0.0
    scores = [
        *(LEVEL_SCORE[r.probability] * LEVEL_SCORE[r.impact] for r in brief.risks),
        *risks_so_far,
        *(r.score for r in update.risks),
    ]
    forecast = evm.Forecast(
        finish=update.forecast_finish,
        cost=update.forecast_cost,
        scope_percent=update.scope_change_percent,
        quality_percent=update.quality_shortfall_percent,
        benefits_percent=update.benefits_shortfall_percent,
        risk_score=max(scores, default=0),
    )
    variances = evm.forecast_variances(forecast, figures, schedule.start, schedule.finish)
    statuses = evm.rag_status(variances, tolerances, rag)
    return Assessment(
        progress, percent, figures, statuses, evm.overall(statuses), evm.breaches(statuses)
    )


def parse_tolerances(text: str, current: Tolerances) -> Tolerances:
    """New tolerances given with an exception gate's go: `cost_percent: 25, time_percent: 15`.

    Dimensions not named keep their current tolerance; ValueError names what is wrong.
    """
    values = current.model_dump()
    for part in text.replace(";", ",").replace("\n", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition(":") if ":" in part else part.partition("=")
        name = name.strip()
        if not sep or name not in values:
            known = ", ".join(values)
            raise ValueError(f"'{part.strip()}' is not 'tolerance: value' (tolerances: {known})")
        try:
            values[name] = float(value) if name != "risk_score" else int(value)
        except ValueError:
            raise ValueError(f"{name}: '{value.strip()}' is not a number") from None
    try:
        return Tolerances.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ValueError(f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from None


def check_tolerance_text(text: str) -> None:
    """Refuse (ValueError) new tolerances that no stage could take, whatever it had."""
    floor = Tolerances(
        time_percent=0,
        cost_percent=0,
        scope_percent=0,
        quality_percent=0,
        benefits_percent=0,
        risk_score=1,
    )
    parse_tolerances(text, floor)


def package_field(number: int) -> str:
    """The Resume form's field of work package `number` (1-based)."""
    return f"wp_{number}"


def as_run_input(update: StatusUpdate, packages: list[str]) -> dict:
    """The update as the status form submits it; `packages` are the baseline's keys."""
    numbers = {key: index for index, key in enumerate(packages, start=1)}
    return {
        **{package_field(numbers[key]): percent for key, percent in update.progress.items()},
        "as_of": update.as_of.isoformat(),
        "actual_cost": float(update.actual_cost),
        "forecast_finish": update.forecast_finish.isoformat(),
        "forecast_cost": float(update.forecast_cost),
        "scope_change_percent": update.scope_change_percent,
        "quality_shortfall_percent": update.quality_shortfall_percent,
        "benefits_shortfall_percent": update.benefits_shortfall_percent,
        "commentary": update.commentary,
        "note": update.note,
        "new_risks": [vars(risk) for risk in update.risks],
        "new_issues": list(update.issues),
        "stage_complete": update.complete,
        "confirmed_activities": list(update.confirmed_activities),
    }


def from_run_input(values: dict, packages: list[str]) -> StatusUpdate:
    """The update a status form carried: as the form model holds it, or as Prefect stored
    it (JSON, dates as ISO text)."""
    return StatusUpdate(
        as_of=_day(values["as_of"]),
        progress={
            key: float(values[package_field(index)]) for index, key in enumerate(packages, start=1)
        },
        actual_cost=Decimal(str(values["actual_cost"])),
        forecast_finish=_day(values["forecast_finish"]),
        forecast_cost=Decimal(str(values["forecast_cost"])),
        scope_change_percent=float(values["scope_change_percent"]),
        quality_shortfall_percent=float(values["quality_shortfall_percent"]),
        benefits_shortfall_percent=float(values["benefits_shortfall_percent"]),
        commentary=values["commentary"],
        note=values["note"],
        risks=tuple(
            ReportedRisk(r["description"], r["probability"], r["impact"])
            for r in values["new_risks"]
        ),
        issues=tuple(values["new_issues"]),
        complete=bool(values["stage_complete"]),
        confirmed_activities=tuple(values.get("confirmed_activities") or ()),
    )


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
