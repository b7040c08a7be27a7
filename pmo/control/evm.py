"""Earned value and RAG: arithmetic on the baseline plan and a status update, nothing else.

The baseline plan is the brief's budget spread evenly over its schedule (the plan baseline
divides the schedule evenly between the stages, and nothing finer is recorded), so the
planned value at a date is the budget times the share of the schedule elapsed.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from process_library.schema import Rag, Tolerances

Colour = Literal["green", "amber", "red"]
DIMENSIONS = ("time", "cost", "scope", "quality", "benefits", "risk")
_WORST: dict[Colour, int] = {"green": 0, "amber": 1, "red": 2}
CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    return (numerator / denominator).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class EarnedValue:
    """The earned value figures of one status update, in the project's currency."""

    bac: Decimal  # budget at completion: the approved budget
    pv: Decimal  # planned value: the budget the plan meant to spend by the date
    ev: Decimal  # earned value: the budget of the work done
    ac: Decimal  # actual cost to date
    spi: Decimal | None  # schedule performance index EV/PV (None before the plan starts)
    cpi: Decimal | None  # cost performance index EV/AC (None before any cost)
    sv: Decimal  # schedule variance EV - PV
    cv: Decimal  # cost variance EV - AC
    eac: Decimal  # estimate at completion BAC/CPI (the budget while CPI is unknown)
    vac: Decimal  # variance at completion BAC - EAC


def planned_share(start: date, end: date, as_of: date) -> Decimal:
    """The share of the schedule elapsed at `as_of`, 0 before the start, 1 after the end."""
    span = (end - start).days
    elapsed = min(max((as_of - start).days, 0), span)
    return Decimal(elapsed) / Decimal(span)


def weighted_complete(percents: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """Percent complete of the whole, each work package counting by its weight (default 1)."""
    if not percents:
        return 0.0
    weights = weights or {}
    total = sum(weights.get(name, 1.0) for name in percents)
    return sum(p * weights.get(name, 1.0) for name, p in percents.items()) / total


def earned_value(
    *,
    budget: Decimal,
    start: date,
    end: date,
    as_of: date,
    percent_complete: float,
    actual_cost: Decimal,
) -> EarnedValue:
    """PV from the baseline, EV from percent complete, AC as reported; the indices from them."""
    bac = Decimal(budget)
    pv = _money(bac * planned_share(start, end, as_of))
    ev = _money(bac * Decimal(str(percent_complete)) / 100)
    ac = _money(Decimal(actual_cost))
    spi, cpi = _ratio(ev, pv), _ratio(ev, ac)
    eac = _money(bac * ac / ev) if ev and ac else bac
    return EarnedValue(bac, pv, ev, ac, spi, cpi, ev - pv, ev - ac, eac, _money(bac - eac))


@dataclass(frozen=True)
class Forecast:
    """What the project manager forecasts, against the baseline, in each dimension's unit."""

    finish: date
    cost: Decimal
    scope_percent: float
    quality_percent: float
    benefits_percent: float
    risk_score: int


@dataclass(frozen=True)
class DimensionStatus:
    """One dimension's forecast variance, its tolerance, the share used and its colour."""

    dimension: str
    variance: float
    tolerance: float
    used: float  # variance / tolerance; above 1 is a breach
    colour: Colour


def forecast_variances(
    forecast: Forecast, figures: EarnedValue, start: date, end: date
) -> dict[str, float]:
    """Each dimension's forecast variance in the unit of its tolerance.

    Cost takes the worse of the project manager's forecast and EAC, so a forecast that
    ignores the cost performance so far does not hide an overrun.
    """
    span = (end - start).days
    slip = max((forecast.finish - end).days, 0)
    cost = max(Decimal(forecast.cost), figures.eac)
    overrun = max(cost - figures.bac, Decimal(0))
    return {
        "time": round(100 * slip / span, 2),
        "cost": round(float(100 * overrun / figures.bac), 2) if figures.bac else 0.0,
        "scope": forecast.scope_percent,
        "quality": forecast.quality_percent,
        "benefits": forecast.benefits_percent,
        "risk": float(forecast.risk_score),
    }


def colour(variance: float, tolerance: float, rag: Rag) -> tuple[float, Colour]:
    """The share of the tolerance used and its colour: Red past it, Amber from the share."""
    # With no variance allowed at all, any variance is past it.
    used = variance / tolerance if tolerance else (0.0 if variance <= 0 else float("inf"))
    if used > 1:
        return used, "red"
    return used, "amber" if used >= rag.amber_share else "green"


def rag_status(
    variances: dict[str, float], tolerances: Tolerances, rag: Rag
) -> list[DimensionStatus]:
    """The RAG of every dimension, in the order tolerances list them."""
    limits = {
        "time": tolerances.time_percent,
        "cost": tolerances.cost_percent,
        "scope": tolerances.scope_percent,
        "quality": tolerances.quality_percent,
        "benefits": tolerances.benefits_percent,
        "risk": float(tolerances.risk_score),
    }
    statuses = []
    for dimension in DIMENSIONS:
        used, shade = colour(variances[dimension], limits[dimension], rag)
        statuses.append(
            DimensionStatus(dimension, variances[dimension], limits[dimension], used, shade)
        )
    return statuses


def overall(statuses: list[DimensionStatus]) -> Colour:
    """The worst colour of the dimensions."""
    return max((s.colour for s in statuses), key=_WORST.__getitem__, default="green")


def breaches(statuses: list[DimensionStatus]) -> list[DimensionStatus]:
    """The dimensions whose forecast exceeds tolerance: each one is an exception."""
    return [s for s in statuses if s.colour == "red"]
