"""Generated plans, CSV and Microsoft Project texts: each is accepted (and then scheduled and
measured) or refused with one PlanError line, never another exception."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from pmo.plan.evm import earned_value
from pmo.plan.formats import plan_to_csv, read_plan_text
from pmo.plan.model import PlanError, parse_plan
from pmo.plan.phased import cumulative_pv_by_month, effort_by_role_month
from pmo.plan.report import schedule_json
from pmo.plan.schedule import schedule_plan
from tests.fuzz import TEXT, fuzz, mutated
from tests.plan.worked import WORKED

pytestmark = pytest.mark.unit

CSV = plan_to_csv(parse_plan(WORKED))
XML = (
    '<?xml version="1.0"?><Project xmlns="http://schemas.microsoft.com/project">'
    "<StartDate>2027-02-01T08:00:00</StartDate><MinutesPerDay>480</MinutesPerDay>"
    "<CalendarUID>1</CalendarUID><Calendars><Calendar><UID>1</UID><WeekDays><WeekDay>"
    "<DayType>1</DayType><DayWorking>0</DayWorking></WeekDay></WeekDays><Exceptions><Exception>"
    "<TimePeriod><FromDate>2027-02-15T00:00:00</FromDate><ToDate>2027-02-15T23:59:00</ToDate>"
    "</TimePeriod><DayWorking>0</DayWorking></Exception></Exceptions></Calendar></Calendars>"
    "<Tasks><Task><UID>1</UID><Name>Design</Name><WBS>1.1</WBS><Duration>PT40H0M0S</Duration>"
    "<Cost>500000</Cost><Contact>sam@example.com</Contact><ConstraintType>4</ConstraintType>"
    "<ConstraintDate>2027-02-03T08:00:00</ConstraintDate></Task><Task><UID>2</UID>"
    "<Name>Build</Name><WBS>1.2</WBS><Duration>PT80H0M0S</Duration><Cost>100</Cost>"
    "<Contact>lee@example.com</Contact><PredecessorLink><PredecessorUID>1</PredecessorUID>"
    "<Type>1</Type></PredecessorLink></Task><Task><UID>3</UID><Name>Live</Name>"
    "<Milestone>1</Milestone><Duration>PT0H0M0S</Duration><PredecessorLink><PredecessorUID>2"
    "</PredecessorUID></PredecessorLink></Task></Tasks><Resources><Resource><UID>1</UID>"
    "<Name>developer</Name></Resource></Resources><Assignments><Assignment><TaskUID>2</TaskUID>"
    "<ResourceUID>1</ResourceUID><Work>PT96H0M0S</Work></Assignment></Assignments></Project>"
)


def measured(plan, progress: dict, as_of: date) -> None:
    """What planning and control do with an accepted plan."""
    try:
        schedule = schedule_plan(plan, date(2027, 2, 1))
    except PlanError as refused:
        assert "\n" not in str(refused)
        return
    assert schedule.duration_days >= 0 and schedule.finish >= schedule.start
    for scheduled in schedule.packages.values():
        assert scheduled.total_float >= 0
        assert scheduled.early_start <= scheduled.late_start
    keys = list(schedule.packages)
    progress = {keys[i % len(keys)]: p for i, p in progress.items()}
    figures = earned_value(schedule, as_of=as_of, progress=progress, actual_cost=Decimal(100))
    assert figures.ev <= figures.bac and figures.pv <= figures.bac
    schedule_json(schedule, figures)
    if schedule.duration_days < 2000:
        cumulative_pv_by_month(schedule)
        effort_by_role_month(schedule)


def refused_in_one_line(refused: PlanError, source: str) -> None:
    line = str(refused)
    assert line.startswith(source), line
    assert "\n" not in line and "\r" not in line, repr(line)


PROGRESS = st.dictionaries(st.integers(0, 10), st.floats(0, 100, allow_nan=False), max_size=4)
AS_OF = st.dates(date(2026, 1, 1), date(2029, 12, 31))


@fuzz(150)
@given(mutated(WORKED), PROGRESS, AS_OF)
def test_a_changed_plan_is_accepted_and_measured_or_refused_in_one_line(data, progress, as_of):
    try:
        plan = parse_plan(data)
    except PlanError as refused:
        event("refused")
        refused_in_one_line(refused, "plan")
        return
    event("accepted")
    measured(plan, progress, as_of)


def changed_text(text: str, pieces: list[str]):
    """`text` with a few of its pieces replaced by generated text."""
    return st.lists(
        st.tuples(st.sampled_from(pieces), st.one_of(TEXT, st.sampled_from(pieces))),
        min_size=1,
        max_size=3,
    ).map(lambda swaps: _swap(text, swaps))


def _swap(text: str, swaps: list[tuple[str, str]]) -> str:
    for old, new in swaps:
        text = text.replace(old, new, 1)
    return text


CSV_PIECES = sorted({cell for line in CSV.splitlines() for cell in line.split(",") if cell})
XML_PIECES = sorted(set(part for part in XML.replace(">", ">\0").split("\0") if part))


@fuzz(100)
@given(st.one_of(changed_text(CSV, CSV_PIECES), TEXT), PROGRESS, AS_OF)
def test_a_changed_csv_is_accepted_or_refused_in_one_line(text, progress, as_of):
    try:
        plan = read_plan_text(text, fmt="csv", source="plan.csv")
    except PlanError as refused:
        event("refused")
        refused_in_one_line(refused, "plan.csv")
        return
    event("accepted")
    measured(plan, progress, as_of)


@fuzz(100)
@given(st.one_of(changed_text(XML, XML_PIECES), TEXT), PROGRESS, AS_OF)
def test_a_changed_project_file_is_accepted_or_refused_in_one_line(text, progress, as_of):
    try:
        plan = read_plan_text(text, fmt="xml", source="plan.xml")
    except PlanError as refused:
        event("refused")
        refused_in_one_line(refused, "plan.xml")
        return
    event("accepted")
    measured(plan, progress, as_of)


def test_the_fuzzed_originals_are_accepted():
    """The fuzz tests start from plans that are valid, so their changes are what fails."""
    for plan in (
        read_plan_text(CSV, fmt="csv", source="plan.csv"),
        read_plan_text(XML, fmt="xml", source="plan.xml"),
    ):
        measured(plan, {0: 50.0}, date(2027, 2, 10) + timedelta(days=1))


@st.composite
def networks(draw) -> dict:
    """A valid plan: each package depends on some earlier ones, on a random calendar."""
    size = draw(st.integers(1, 25))
    packages = []
    for i in range(size):
        before = draw(st.lists(st.integers(0, i - 1), max_size=3)) if i else []
        package = {
            "key": f"{i}",
            "name": f"Package {i}",
            "owner": "sam@example.com",
            "duration_days": draw(st.integers(0, 30)),
            "depends_on": [f"{j}" for j in before],
            "budget": draw(st.integers(0, 10**6)),
        }
        if draw(st.booleans()):
            package["start_no_earlier_than"] = draw(st.dates(date(2027, 1, 1), date(2027, 6, 1)))
        packages.append(package)
    workdays = draw(
        st.lists(
            st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            min_size=1,
            max_size=7,
        )
    )
    holidays = draw(st.lists(st.dates(date(2027, 1, 1), date(2028, 1, 1)), max_size=30))
    return {"calendar": {"workdays": workdays, "holidays": holidays}, "work_packages": packages}


@fuzz(150)
@given(networks(), st.dates(date(2027, 1, 1), date(2027, 12, 31)))
def test_a_random_network_keeps_the_rules_of_the_critical_path_method(data, start):
    plan = parse_plan(data)
    schedule = schedule_plan(plan, start)
    packages = schedule.packages
    ends = {}
    for key, p in packages.items():
        days = p.package.duration_days
        ends[key] = p.early_position + days
        for before in p.package.depends_on:  # finish-to-start, in working days
            assert p.early_position >= packages[before].early_position + (
                packages[before].package.duration_days
            )
        if p.package.start_no_earlier_than and days:
            assert p.early_start >= p.package.start_no_earlier_than
        assert p.total_float == p.late_position - p.early_position >= 0
        assert p.early_start <= p.early_finish and p.late_start <= p.late_finish
        assert schedule.calendar.is_workday(p.early_start)
        if days:
            assert schedule.calendar.workdays_between(p.early_start, p.early_finish) == days - 1
    assert schedule.duration_days == max(ends.values())
    assert schedule.critical_path, "a network always has a critical path"
    last = max(packages.values(), key=lambda p: ends[p.key])
    assert last.key in schedule.critical_path
    assert schedule.finish == max(p.early_finish for p in packages.values())
    done = {key: 100 for key in packages}
    figures = earned_value(schedule, as_of=schedule.finish, progress=done, actual_cost=Decimal(1))
    assert figures.pv == figures.ev == figures.bac
    if figures.bac and schedule.duration_days:
        assert figures.es_days == schedule.duration_days
