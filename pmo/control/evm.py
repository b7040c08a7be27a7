"""RAG against the tolerances: a status update's forecast in each dimension, measured
against the baseline in force, coloured by how much of its tolerance it uses.

The earned value figures themselves come from the baseline's schedule
(`pmo.plan.evm.earned_value`); this module only turns them and the project manager's
forecast into variances and colours.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pmo.plan.evm import EarnedValue
from process_library.schema import Rag, Tolerances

Colour = Literal["green", "amber", "red"]
DIMENSIONS = ("time", "cost", "scope", "quality", "benefits", "risk")
_WORST: dict[Colour, int] = {"green": 0, "amber": 1, "red": 2}


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
    """Each dimension's forecast variance in the unit of its tolerance, against the
    baseline that runs from `start` to `end` and costs `figures.bac`.

    Time and cost take the worse of the project manager's forecast and the figures' (the
    earned schedule's forecast finish, EAC), so a forecast that ignores the performance
    so far does not hide a slip or an overrun.
    """
    span = max((end - start).days, 1)
    finish = max(forecast.finish, figures.forecast_finish or forecast.finish)
    slip = max((finish - end).days, 0)
    cost = max(Decimal(forecast.cost), figures.eac or Decimal(0))
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
