"""A small network worked out by hand: its schedule and earned value come out exactly.

The calendar, Monday to Friday with Monday 2027-02-15 a holiday, numbered from the start:

    pos  0..4   Mon 02-01 .. Fri 02-05
    pos  5..9   Mon 02-08 .. Fri 02-12
    (Sat 13, Sun 14, holiday Mon 15)
    pos 10..13  Tue 02-16 .. Fri 02-19
    pos 14..18  Mon 02-22 .. Fri 02-26
    pos 19..23  Mon 03-01 .. Fri 03-05

A package of d days at position s works positions s .. s+d-1; a successor may start at s+d.

Forward pass (early start position, end position):
    1.1  5d  no predecessor                    0 .. 5    02-01 .. 02-05
    1.2  3d  after 1.1                          5 .. 8    02-08 .. 02-10
    1.3  4d  after 1.1                          5 .. 9    02-08 .. 02-11
    2.1  2d  after 1.1, not before Sat 02-13:
             the next working day is Tue 02-16 (Mon is the holiday): pos 10
                                               10 .. 12   02-16 .. 02-17
    2.2  4d  after 1.2 (8) and 1.3 (9)          9 .. 13   02-12 .. 02-18 (over weekend+holiday)
    3.1  3d  after 2.1 (12) and 2.2 (13)       13 .. 16   02-19 .. 02-23
    3.2  0d  after 3.1                         16 .. 16   on 3.1's finish day, 02-23
Project: 16 working days, finish Tue 02-23.

Backward pass (late start = earliest late start of the successors - duration):
    3.2  16 - 0 = 16            float 0
    3.1  16 - 3 = 13            float 0   02-19 .. 02-23
    2.2  13 - 4 = 9             float 0   02-12 .. 02-18
    2.1  13 - 2 = 11            float 1   02-17 .. 02-18
    1.3   9 - 4 = 5             float 0
    1.2   9 - 3 = 6             float 1   02-09 .. 02-11
    1.1  min(6, 5, 11) - 5 = 0  float 0
Critical path: 1.1, 1.3, 2.2, 3.1, 3.2. Milestones: Design done = max(02-10, 02-11) = 02-11;
Portal live = 02-23.

Planned value per working day (budget / duration): 1.1 1000 at 0-4; 1.2 2000 at 5-7;
1.3 2000 at 5-8; 2.1 1000 at 10-11; 2.2 1000 at 9-12; 3.1 1000 at 13-15; 3.2's 1000 at the
end of 02-23. Cumulative PV after n working days:
    n:   0    1    2    3    4    5    6    7     8     9     10    11    12    13    14    15    16
    PV:  0 1000 2000 3000 4000 5000 9000 13000 17000 19000 20000 22000 24000 25000 26000 27000 29000
BAC = 29000.

As of the end of Wed 02-17 (pos 11): AT = 12 working days, PV = 24000.
Progress 1.1 100%, 1.2 100%, 1.3 75%, 2.2 10%: EV = 5000 + 6000 + 6000 + 400 = 17400.
AC = 19000.
    SV = 17400 - 24000 = -6600          CV = 17400 - 19000 = -1600
    SPI = 17400 / 24000 = 0.725         CPI = 17400 / 19000 = 0.915789... -> 0.9158
    EAC = 29000 / CPI = 29000 * 19000 / 17400 = 31666.666... -> 31666.67
    ETC = EAC - AC = 12666.67           VAC = BAC - EAC = -2666.67
    EAC at plan rate = AC + BAC - EV = 30600
    TCPI = (29000 - 17400) / (29000 - 19000) = 1.16
    ES: PV(8) = 17000 <= 17400 < PV(9) = 19000, so ES = 8 + 400 / 2000 = 8.2
    SPI(t) = 8.2 / 12 = 0.68333... -> 0.6833
    forecast duration = 16 / SPI(t) = 16 * 12 / 8.2 = 23.41... -> 24 working days,
    the last of them pos 23: Fri 03-05.
"""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from pmo.plan.evm import earned_value, planned_value, scaled_curve
from pmo.plan.model import parse_plan
from pmo.plan.schedule import schedule_plan
from tests.plan.worked import WORKED

pytestmark = pytest.mark.unit

SCHEDULE = schedule_plan(parse_plan(WORKED))


def d(text: str) -> date:
    return date.fromisoformat(f"2027-{text}")


@pytest.mark.parametrize(
    ("key", "early_start", "early_finish", "late_start", "late_finish", "total_float"),
    [
        ("1.1", "02-01", "02-05", "02-01", "02-05", 0),
        ("1.2", "02-08", "02-10", "02-09", "02-11", 1),
        ("1.3", "02-08", "02-11", "02-08", "02-11", 0),
        ("2.1", "02-16", "02-17", "02-17", "02-18", 1),
        ("2.2", "02-12", "02-18", "02-12", "02-18", 0),
        ("3.1", "02-19", "02-23", "02-19", "02-23", 0),
        ("3.2", "02-23", "02-23", "02-23", "02-23", 0),
    ],
)
def test_each_package_has_its_hand_worked_dates_and_float(
    key, early_start, early_finish, late_start, late_finish, total_float
):
    package = SCHEDULE.packages[key]
    assert (package.early_start, package.early_finish) == (d(early_start), d(early_finish))
    assert (package.late_start, package.late_finish) == (d(late_start), d(late_finish))
    assert package.total_float == total_float
    assert package.critical is (total_float == 0)


def test_the_project_finish_critical_path_and_milestones():
    assert SCHEDULE.start == d("02-01")
    assert SCHEDULE.finish == d("02-23")
    assert SCHEDULE.duration_days == 16
    assert SCHEDULE.critical_path == ["1.1", "1.3", "2.2", "3.1", "3.2"]
    assert SCHEDULE.milestones == {"Design done": d("02-11"), "Portal live": d("02-23")}
    assert list(SCHEDULE.packages) == ["1.1", "1.2", "1.3", "2.1", "2.2", "3.1", "3.2"]


@pytest.mark.parametrize(
    ("as_of", "pv"),
    [
        ("01-29", "0.00"),  # before the start
        ("02-01", "1000.00"),  # the end of the first day
        ("02-08", "9000.00"),
        ("02-12", "20000.00"),  # n = 10
        ("02-14", "20000.00"),  # Sunday: nothing more planned
        ("02-15", "20000.00"),  # the holiday
        ("02-17", "24000.00"),
        ("02-22", "27000.00"),
        ("02-23", "29000.00"),  # the finish, with the go-live's budget
        ("12-31", "29000.00"),
    ],
)
def test_planned_value_by_the_end_of_a_day(as_of, pv):
    assert planned_value(SCHEDULE, d(as_of)) == Decimal(pv)


def test_earned_value_and_earned_schedule_come_out_as_worked_by_hand():
    figures = earned_value(
        SCHEDULE,
        as_of=d("02-17"),
        progress={"1.1": 100, "1.2": 100.0, "1.3": 75, "2.2": 10},
        actual_cost=Decimal(19000),
    )
    assert figures.bac == Decimal("29000.00")
    assert (figures.pv, figures.ev, figures.ac) == (
        Decimal("24000.00"),
        Decimal("17400.00"),
        Decimal("19000.00"),
    )
    assert (figures.sv, figures.cv) == (Decimal("-6600.00"), Decimal("-1600.00"))
    assert (figures.spi, figures.cpi) == (Decimal("0.7250"), Decimal("0.9158"))
    assert figures.eac == Decimal("31666.67")
    assert figures.etc == Decimal("12666.67")
    assert figures.vac == Decimal("-2666.67")
    assert figures.eac_plan_rate == Decimal("30600.00")
    assert figures.tcpi == Decimal("1.1600")
    assert figures.at_days == 12
    assert figures.es_days == Decimal("8.20")
    assert figures.spi_t == Decimal("0.6833")
    assert figures.forecast_finish == d("03-05")
    assert figures.as_of == d("02-17")


def test_actual_cost_per_package_adds_up_to_the_same_figures():
    by_package = earned_value(
        SCHEDULE,
        as_of=d("02-17"),
        progress={"1.1": 100, "1.2": 100, "1.3": 75, "2.2": 10},
        actual_cost={"1.1": Decimal(5500), "1.2": Decimal(6500), "1.3": Decimal(7000)},
    )
    total = earned_value(
        SCHEDULE,
        as_of=d("02-17"),
        progress={"1.1": 100, "1.2": 100, "1.3": 75, "2.2": 10},
        actual_cost=Decimal(19000),
    )
    assert by_package == total


def test_the_json_carries_the_design_keys():
    figures = earned_value(
        SCHEDULE, as_of=d("02-17"), progress={"1.1": 100}, actual_cost=Decimal(4000)
    )
    data = figures.as_json()
    for key in ["pv", "ev", "ac", "sv", "cv", "spi", "cpi", "eac", "etc", "vac", "tcpi"]:
        assert key in data
    assert {"es_days", "spi_t", "forecast_finish", "bac", "eac_plan_rate", "at_days"} <= set(data)
    assert data["ev"] == 5000.0 and data["cpi"] == 1.25 and data["eac"] == 23200.0
    assert data["es_days"] == 5.0 and data["at_days"] == 12
    assert data["as_of"] == "2027-02-17"


def test_before_anything_is_planned_or_spent_the_ratios_are_none():
    figures = earned_value(SCHEDULE, as_of=d("01-29"), progress={}, actual_cost=Decimal(0))
    assert figures.pv == figures.ev == figures.ac == Decimal("0.00")
    assert figures.spi is figures.cpi is figures.eac is figures.etc is figures.vac is None
    assert figures.spi_t is None and figures.forecast_finish is None
    assert figures.at_days == 0 and figures.es_days == Decimal("0.00")
    assert figures.tcpi == Decimal("1.0000")


def test_everything_done_early_earns_the_whole_schedule():
    done = {key: 100 for key in SCHEDULE.packages}
    figures = earned_value(SCHEDULE, as_of=d("02-12"), progress=done, actual_cost=Decimal(29000))
    assert figures.ev == figures.bac
    assert figures.es_days == Decimal("16.00")
    assert figures.at_days == 10
    assert figures.spi_t == Decimal("1.6000")
    assert figures.forecast_finish == d("02-12")  # 16 / 1.6 = 10 working days
    assert figures.tcpi is None  # nothing left to spend on nothing left to do


def test_durations_without_a_small_common_multiple_are_measured_exactly_too():
    """Scaled integers when the durations' least common multiple is small, fractions when
    not: the same planned value either way."""
    primes = [
        99991,
        99989,
        99971,
        99961,
        99929,
        99923,
        99907,
        99901,
        99881,
        99877,
        99871,
        99859,
        99839,
        99833,
    ]
    data = {"start": "2027-02-01"}
    data["work_packages"] = [
        {"key": f"p{d}", "name": "Long", "owner": "a@example.com", "duration_days": d,
         "budget": 3}
        for d in [*primes, 5]
    ]  # fmt: skip
    schedule = schedule_plan(parse_plan(data))
    curve, scale = scaled_curve(schedule)
    assert scale == 100  # the fractions
    # after 5 days: the 5-day package's 3 and 5/d of each prime-long package's 3
    expected = 3 + sum(Fraction(3 * 5, d) for d in primes)
    assert Fraction(curve[5], scale) == expected
    assert planned_value(schedule, d("02-05")) == Decimal("3.00")
    assert scaled_curve(SCHEDULE)[1] == 100 * 60  # the worked example: lcm(5, 3, 4, 2)
