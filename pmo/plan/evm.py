"""Earned value against the plan's baseline, and earned schedule (Lipke).

Conventions (DESIGN.md): each package's budget is spread evenly over its working days (a
0-day package's budget is planned at the end of its day); figures are as of the end of the
as-of date; `eac` is BAC / CPI and `etc` is EAC - AC (AC + BAC - EV under
`eac_plan_rate`); `es_days` and the actual time `at_days` are working days from the plan's
start. Figures are computed exactly and rounded once: money to cents, indexes to four
places, days to two. A figure that would divide by zero (SPI before any value is planned,
CPI before any cost) is None.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from fractions import Fraction
from math import ceil, lcm

from pmo.plan.model import MOST_MONEY, PlanError
from pmo.plan.schedule import Schedule

CENT = Decimal("0.01")
INDEX = Decimal("0.0001")
PERCENT = Decimal("0.0001")


def _money(value: Fraction) -> Decimal:
    return rounded(value, CENT)


def rounded(value: Fraction, step: Decimal) -> Decimal:
    """`value` rounded to `step` (half to even), however many digits it has."""
    with localcontext() as context:
        context.prec = max(28, len(str(abs(value.numerator) // value.denominator)) + 10)
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(step, rounding=ROUND_HALF_EVEN)


def _ratio(top: Fraction, bottom: Fraction) -> Fraction | None:
    return top / bottom if bottom else None


@dataclass(frozen=True)
class EarnedValue:
    bac: Decimal
    pv: Decimal
    ev: Decimal
    ac: Decimal
    sv: Decimal
    cv: Decimal
    spi: Decimal | None
    cpi: Decimal | None
    eac: Decimal | None
    etc: Decimal | None
    vac: Decimal | None
    eac_plan_rate: Decimal
    tcpi: Decimal | None
    es_days: Decimal
    at_days: int
    spi_t: Decimal | None
    forecast_finish: date | None
    as_of: date

    def as_json(self) -> dict:
        """The figures under DESIGN.md's keys: numbers as JSON numbers (None as null),
        dates as ISO text."""

        def number(value: Decimal | None) -> float | None:
            return None if value is None else float(value)

        return {
            "as_of": self.as_of.isoformat(),
            "bac": number(self.bac),
            "pv": number(self.pv),
            "ev": number(self.ev),
            "ac": number(self.ac),
            "sv": number(self.sv),
            "cv": number(self.cv),
            "spi": number(self.spi),
            "cpi": number(self.cpi),
            "eac": number(self.eac),
            "eac_plan_rate": number(self.eac_plan_rate),
            "etc": number(self.etc),
            "vac": number(self.vac),
            "tcpi": number(self.tcpi),
            "es_days": number(self.es_days),
            "at_days": self.at_days,
            "spi_t": number(self.spi_t),
            "forecast_finish": self.forecast_finish.isoformat() if self.forecast_finish else None,
        }


def elapsed_days(schedule: Schedule, as_of: date) -> int:
    """Working days from the plan's start to the end of `as_of` (0 before the start)."""
    if as_of < schedule.start:
        return 0
    try:
        after = as_of + timedelta(days=1)
    except OverflowError:
        after = as_of
    return schedule.calendar.workdays_between(schedule.start, after)


def scaled_curve(schedule: Schedule) -> tuple[list[int] | list[Fraction], int]:
    """Cumulative planned value after n working days, n = 0 .. duration_days, exactly:
    PV(n) = curve[n] / scale. Budgets are whole cents, so with `scale` = 100 x the least
    common multiple of the durations every daily amount is a whole number (integers are
    fast); durations whose multiple is too large fall back to fractions."""
    days = schedule.duration_days
    durations = {s.package.duration_days for s in schedule.packages.values()} - {0}
    common = lcm(*durations) if durations else 1
    whole = common.bit_length() <= 192
    unit = common if whole else 1
    zero: int | Fraction = 0 if whole else Fraction(0)
    step = [zero] * (days + 2)  # per-day rate changes
    lump = [zero] * (days + 1)  # 0-day packages' budgets, planned at a position
    for scheduled in schedule.packages.values():
        package = scheduled.package
        cents = int(package.budget * 100)
        at = scheduled.early_position
        if package.duration_days == 0:
            lump[at] += cents * unit
            continue
        rate = (
            cents * (unit // package.duration_days)
            if whole
            else Fraction(cents, package.duration_days)
        )
        step[at] += rate
        step[at + package.duration_days] -= rate
    curve = [lump[0]]
    rate = zero
    for n in range(1, days + 1):
        rate += step[n - 1]
        curve.append(curve[-1] + rate + lump[n])
    return curve, 100 * unit  # type: ignore[return-value]


def planned_curve(schedule: Schedule) -> list[Fraction]:
    """Cumulative planned value after n working days, n = 0 .. duration_days (exact)."""
    curve, scale = scaled_curve(schedule)
    return [Fraction(value, scale) for value in curve]


def planned_value(schedule: Schedule, as_of: date) -> Decimal:
    """The budget planned to be spent by the end of `as_of`, rounded to cents."""
    curve, scale = scaled_curve(schedule)
    return _money(Fraction(curve[min(elapsed_days(schedule, as_of), len(curve) - 1)], scale))


def _percent(key: str, value: object) -> int:
    """A percent complete, taken to four decimal places (12.3 is 12.3, not the float
    nearest to it)."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise InvalidOperation
        percent = Decimal(str(value))
        if not percent.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise PlanError("progress", f"{key}: '{value}' is not a percentage") from None
    if not 0 <= percent <= 100:
        raise PlanError("progress", f"{key}: {value} is outside 0 to 100")
    return int(percent.quantize(PERCENT).scaleb(4))  # in ten-thousandths of a percent


def _cost(where: str, value: object) -> Fraction:
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise PlanError("actual_cost", f"{where}'{value}' is not an amount") from None
    if amount < 0:
        raise PlanError("actual_cost", f"{where}{value} is below zero")
    if amount > MOST_MONEY:
        raise PlanError("actual_cost", f"{where}{value} is above {MOST_MONEY:,}")
    return Fraction(amount)


def earned_value(
    schedule: Schedule,
    *,
    as_of: date,
    progress: dict[str, float],
    actual_cost: Decimal | dict[str, Decimal],
) -> EarnedValue:
    """PV, EV, AC and the indexes and forecasts derived from them, as of the end of `as_of`.

    `progress` is percent complete (0 to 100) per work package key, a package left out
    being 0; `actual_cost` is the cost to date in total or per package key.
    """
    packages = schedule.packages
    for key in progress:
        if key not in packages:
            raise PlanError("progress", f"{key}: is not a work package of the plan")
    done = {key: _percent(key, value) for key, value in progress.items()}
    if isinstance(actual_cost, dict):
        for key in actual_cost:
            if key not in packages:
                raise PlanError("actual_cost", f"{key}: is not a work package of the plan")
        ac = sum((_cost(f"{key}: ", v) for key, v in actual_cost.items()), Fraction(0))
    else:
        ac = _cost("", actual_cost)
    cents = {key: int(s.package.budget * 100) for key, s in packages.items()}
    bac = Fraction(sum(cents.values()), 100)
    # cents x ten-thousandths of a percent: 100 x 100 x 10,000 of them make one unit
    ev = Fraction(sum(cents[key] * units for key, units in done.items()), 10**8)
    curve, scale = scaled_curve(schedule)
    at = elapsed_days(schedule, as_of)
    pv = Fraction(curve[min(at, len(curve) - 1)], scale)
    spi = _ratio(ev, pv)
    cpi = _ratio(ev, ac)
    eac = _ratio(bac, cpi) if cpi else None
    es = earned_schedule(curve, ev * scale)
    spi_t = _ratio(es, Fraction(at))
    forecast = None
    if spi_t:
        forecast_days = ceil(Fraction(schedule.duration_days) / spi_t)
        try:
            forecast = schedule.day(max(forecast_days - 1, 0))
        except OverflowError:
            forecast = None
    return EarnedValue(
        bac=_money(bac),
        pv=_money(pv),
        ev=_money(ev),
        ac=_money(ac),
        sv=_money(ev - pv),
        cv=_money(ev - ac),
        spi=None if spi is None else rounded(spi, INDEX),
        cpi=None if cpi is None else rounded(cpi, INDEX),
        eac=None if eac is None else _money(eac),
        etc=None if eac is None else _money(eac - ac),
        vac=None if eac is None else _money(bac - eac),
        eac_plan_rate=_money(ac + bac - ev),
        tcpi=None if bac == ac else rounded((bac - ev) / (bac - ac), INDEX),
        es_days=rounded(es, CENT),
        at_days=at,
        spi_t=None if spi_t is None else rounded(spi_t, INDEX),
        forecast_finish=forecast,
        as_of=as_of,
    )


def earned_schedule(curve: list[int] | list[Fraction], ev: Fraction) -> Fraction:
    """Lipke's ES: the working days at which the baseline planned what has been earned,
    interpolated within the day: C + (EV - PV(C)) / (PV(C+1) - PV(C)), C being the last
    day whose cumulative PV is at most EV."""
    whole = bisect_right(curve, ev) - 1
    if whole < 0:
        return Fraction(0)
    if whole >= len(curve) - 1:
        return Fraction(len(curve) - 1)
    return whole + (ev - curve[whole]) / (curve[whole + 1] - curve[whole])
