"""A plan comes in as YAML, CSV or Microsoft Project XML: the same plan, the same schedule;
a malformed or hostile file is refused in one line."""

from pathlib import Path

import pytest

from pmo.plan.formats import load_plan, plan_to_csv, read_plan_text
from pmo.plan.model import PlanError, parse_plan
from pmo.plan.schedule import schedule_plan
from tests.plan.worked import WORKED

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "pmo" / "examples"


def test_the_three_apollo_examples_are_one_plan_with_one_schedule():
    plans = [load_plan(EXAMPLES / f"apollo-plan.{ext}") for ext in ("yaml", "csv", "xml")]
    assert plans[0] == plans[1] == plans[2]
    assert len({plan.content_hash() for plan in plans}) == 1
    schedules = [schedule_plan(plan) for plan in plans]
    assert schedules[0].packages == schedules[1].packages == schedules[2].packages
    assert {s.finish for s in schedules} == {schedules[0].finish}
    assert {tuple(s.critical_path) for s in schedules} == {tuple(schedules[0].critical_path)}
    assert schedules[0].milestones["Portal live"] == schedules[0].finish


def test_the_apollo_plan_fits_its_brief():
    plan = load_plan(EXAMPLES / "apollo-plan.yaml")
    schedule = schedule_plan(plan)
    assert len(plan.work_packages) == 12
    assert plan.budget() < 250000  # the brief's budget: the rest is management reserve
    assert str(schedule.finish) < "2027-10-29"  # the brief's target end date
    assert all(p.effort for p in plan.work_packages)


def test_a_plan_written_as_csv_reads_back_the_same():
    plan = parse_plan(WORKED)
    assert read_plan_text(plan_to_csv(plan), fmt="csv", source="plan.csv") == plan


HEADER = "key,name,owner,duration_days,depends_on,budget,effort\n"
ROW = "1.1,Design,sam@example.com,5,,1000,analyst=2\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            HEADER + ROW + "1.2,Build,sam@example.com,five,1.1,1000,\n",
            "plan.csv: line 3: duration_days: 'five' is not a number",
        ),
        (
            "start,2027-02-01\n" + HEADER + ROW + "1.2,Build,sam@example.com,2.5,1.1,1000,\n",
            "plan.csv: line 4: duration_days: '2.5' is not a whole number of days",
        ),
        (
            HEADER + ROW + "1.2,Build,sam@example.com,3,1.1,lots,\n",
            "plan.csv: line 3: budget: 'lots' is not a number",
        ),
        (
            HEADER + ROW + "1.2,Build,sam@example.com,3,1.1,100,analyst:2\n",
            "plan.csv: line 3: effort: 'analyst:2' is not role=days",
        ),
        (
            HEADER + ROW + "1.2,Build,sam@example.com,3,1.1,100,analyst=-2\n",
            "plan.csv: line 3: effort.analyst: Input should be greater than or equal to 0",
        ),
        (
            HEADER + ROW + "1.2,Build,sam@example.com,3,9.9,100,\n",
            "plan.csv: line 3: depends_on[0]: '9.9' is not a work package key",
        ),
        (
            HEADER + ROW + "\n1.1,Again,sam@example.com,3,,100,\n",
            "plan.csv: line 4: key: '1.1' is used twice",
        ),
        (
            HEADER + ROW + "1.2,Build,not-an-email,3,1.1,100,\n",
            "plan.csv: line 3: owner: 'not-an-email' is not a valid email address: An email "
            "address must have an @-sign.",
        ),
        (
            HEADER + "1.1,Design,sam@example.com,5,1.2,1000,\n1.2,B,sam@example.com,1,1.1,1,\n",
            "plan.csv: work_packages: dependency cycle 1.1 -> 1.2 -> 1.1",
        ),
        (
            HEADER + ROW + "1.2,Build,sam@example.com,3,1.1,100,,extra\n",
            "plan.csv: line 3: has 8 cells; the header has 7",
        ),
        (
            "key,name,owner,colour\n",
            "plan.csv: line 1: 'colour' is not a column (key, name, owner, duration_days, "
            "depends_on, budget, effort, deliverable, start_no_earlier_than)",
        ),
        ("key,name,owner\n", "plan.csv: line 1: the header has no 'duration_days' column"),
        ("hello,world\n", "plan.csv: line 1: 'hello' is neither the header row "
         "(key,name,owner,...) nor a setting (start, workdays, holidays, milestone)"),
        ("", "plan.csv: has no header row (key,name,owner,duration_days,depends_on,budget,"
         "effort,deliverable,start_no_earlier_than)"),
        (HEADER, "plan.csv: work_packages: List should have at least 1 item after "
         "validation, not 0"),
        ("workdays,mon;funday\n" + HEADER + ROW, "plan.csv: calendar.workdays[1]: Input "
         "should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'"),
        ("milestone,Done\n" + HEADER + ROW, "plan.csv: line 1: milestone: give its name and "
         "the keys it follows (3.2;3.3)"),
    ],
)  # fmt: skip
def test_a_malformed_csv_row_is_named_by_its_line(text, line):
    with pytest.raises(PlanError) as refused:
        read_plan_text(text, fmt="csv", source="plan.csv")
    assert str(refused.value) == line


MSPDI_HEAD = '<?xml version="1.0"?>\n<Project xmlns="http://schemas.microsoft.com/project">'


def mspdi(tasks: str) -> str:
    return f"{MSPDI_HEAD}<StartDate>2027-02-01T08:00:00</StartDate><Tasks>{tasks}</Tasks></Project>"


def task(uid: int, extra: str = "", duration: str = "PT40H0M0S") -> str:
    return (
        f"<Task><UID>{uid}</UID><Name>Task {uid}</Name><WBS>1.{uid}</WBS>"
        f"<Duration>{duration}</Duration><Cost>150050</Cost>"
        f"<Contact>sam@example.com</Contact>{extra}</Task>"
    )


def test_a_minimal_microsoft_project_file():
    text = mspdi(
        "<Task><UID>0</UID><Name>Project</Name><Summary>1</Summary></Task>"
        + task(1)
        + task(2, "<PredecessorLink><PredecessorUID>1</PredecessorUID></PredecessorLink>")
        + "<Task><UID>3</UID><Name>Done</Name><Milestone>1</Milestone><Duration>PT0H0M0S"
        "</Duration><PredecessorLink><PredecessorUID>2</PredecessorUID></PredecessorLink></Task>"
    )
    text = text.replace("</Tasks>", task(9, "<Active>0</Active>") + "</Tasks>")  # inactive
    plan = read_plan_text(text, fmt="xml", source="plan.xml")
    assert [(p.key, p.duration_days, str(p.budget), p.depends_on) for p in plan.work_packages] == [
        ("1.1", 5, "1500.5", []),
        ("1.2", 5, "1500.5", ["1.1"]),
    ]
    assert plan.start.isoformat() == "2027-02-01"
    assert [(m.name, m.after) for m in plan.milestones] == [("Done", ["1.2"])]


def test_minutes_per_day_sets_the_length_of_a_day():
    text = mspdi(task(1, duration="PT75H0M0S")).replace(
        "<StartDate>", "<MinutesPerDay>450</MinutesPerDay><StartDate>"
    )
    assert read_plan_text(text, fmt="xml", source="p.xml").work_packages[0].duration_days == 10


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Project xmlns="http://schemas.microsoft.com/project"><Name>&lol3;</Name></Project>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="http://schemas.microsoft.com/project"><Name>&secret;</Name></Project>"""


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (BILLION_LAUGHS, "plan.xml: is refused: DTDForbidden (no DTD or entities)"),
        (EXTERNAL, "plan.xml: is refused: DTDForbidden (no DTD or entities)"),
        ("<Project><Tasks>", "plan.xml: is not well-formed XML: no element found: line 1, "
         "column 16"),
        ("<Plan/>", "plan.xml: is not a Microsoft Project XML file (no <Project> in its "
         "namespace)"),
        (mspdi(task(1, duration="PT4H0M0S")), "plan.xml: Task 1 (Task 1): Duration: 0.5 days "
         "is not a whole number of days"),
        (mspdi(task(1, duration="three days")), "plan.xml: Task 1 (Task 1): Duration: "
         "'three days' is not a duration (PT120H0M0S)"),
        (mspdi(task(1) + task(2, "<PredecessorLink><PredecessorUID>1</PredecessorUID><Type>3"
         "</Type></PredecessorLink>")), "plan.xml: Task 2 (Task 2): PredecessorLink: only "
         "finish-to-start links can be planned"),
        (mspdi(task(2, "<PredecessorLink><PredecessorUID>7</PredecessorUID></PredecessorLink>")),
         "plan.xml: Task 2 (Task 2): PredecessorLink: '7' is not the UID of a task"),
        (mspdi(task(1).replace("<Contact>sam@example.com</Contact>", "")),
         "plan.xml: Task 1 (Task 1): Contact: no owner: give the task a Contact (an email "
         "address)"),
        (mspdi(task(1).replace("sam@example.com", "sam")), "plan.xml: Task 1 (Task 1): owner: "
         "'sam' is not a valid email address: An email address must have an @-sign."),
        (mspdi(task(1).replace("150050", "-5")), "plan.xml: Task 1 (Task 1): budget: Input "
         "should be greater than or equal to 0"),
        (mspdi(task(1).replace("150050", "NaN")), "plan.xml: Task 1 (Task 1): Cost: 'NaN' is "
         "not a number"),
    ],
)  # fmt: skip
def test_a_malformed_or_hostile_project_file_is_refused_in_one_line(text, line):
    with pytest.raises(PlanError) as refused:
        read_plan_text(text, fmt="xml", source="plan.xml")
    assert str(refused.value) == line


def test_a_file_is_refused_by_its_kind_size_and_encoding(tmp_path, monkeypatch):
    with pytest.raises(PlanError, match=r"plan\.txt: is not a plan file: use \.yaml"):
        load_plan(tmp_path / "plan.txt")
    with pytest.raises(PlanError, match=r"missing\.yaml: cannot be read: No such file"):
        load_plan(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("key,name\n1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(PlanError, match=r"latin\.csv: is not UTF-8 text"):
        load_plan(latin)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 100)
    monkeypatch.setattr("pmo.plan.formats.PLAN_BYTES", 50)
    with pytest.raises(PlanError, match=r"big\.yaml: is 102 bytes; a plan may be at most 50"):
        load_plan(big)
    broken = tmp_path / "broken.yaml"
    broken.write_text("work_packages: [\n")
    with pytest.raises(PlanError, match=r"broken\.yaml:2: is not valid YAML"):
        load_plan(broken)
