"""Generated `pmo status` command lines: each update is recorded, or refused in one line
with exit status 2 and nothing recorded; never a traceback (SQLite and PostgreSQL)."""

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pmo.cli import app
from pmo.store import session_scope
from pmo.store.models import StatusUpdateRecord
from pmo.store.records import ensure_project, ensure_stage_run
from tests.factories import make_brief
from tests.fuzz import TEXT, fuzz
from tests.project_record import LIFECYCLE, baselined

pytestmark = pytest.mark.integration

EXECUTION = LIFECYCLE.lifecycle.stage("execution")
BRIEF = make_brief()
PACKAGES = [package.key for package in BRIEF.plan.work_packages]  # baseline 1's keys
START = BRIEF.start_date

# What a project manager would type, then none, one or two fields made odd: both the
# recording and the refusals are exercised.
VALID = {
    "percent": st.integers(min_value=0, max_value=100).map(str),
    "package": st.sampled_from(PACKAGES),
    "day": st.dates(min_value=START, max_value=START + timedelta(days=600)).map(date.isoformat),
    "amount": st.integers(min_value=0, max_value=400_000).map(str),
}
ODD = {
    "percent": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["-1", "101", "nan", "1e3", "", "4O"]),
        TEXT,
    ),
    "package": st.one_of(st.sampled_from(["0", "1", "9.9", "1.1.1", ""]), TEXT),
    "day": st.one_of(st.dates().map(date.isoformat), st.sampled_from(["2027-02-30", ""]), TEXT),
    "amount": st.one_of(
        st.integers(max_value=-1).map(str),
        st.sampled_from(["1e9", "NaN", "-Infinity", "12.345", "1,000", ""]),
        TEXT,
    ),
}
FIELDS = {
    "--as-of": "day",
    "--actual-cost": "amount",
    "--forecast-finish": "day",
    "--forecast-cost": "amount",
    "--scope-change": "percent",
}


@st.composite
def status_command(draw) -> list[str]:
    """The options of one `pmo status` call, odd in none, one or two places."""
    options = {option: draw(VALID[kind]) for option, kind in FIELDS.items()}
    progress = draw(st.lists(st.tuples(VALID["package"], VALID["percent"]), min_size=1, max_size=4))
    for option in draw(st.lists(st.sampled_from([*FIELDS, "--progress"]), max_size=2)):
        if option != "--progress":
            options[option] = draw(ODD[FIELDS[option]])
            continue
        package, percent = progress[0]
        odd = draw(st.sampled_from(["package", "percent", "item"]))
        if odd == "package":
            progress[0] = (draw(ODD["package"]), percent)
        elif odd == "percent":
            progress[0] = (package, draw(ODD["percent"]))
        else:
            progress[0] = (draw(TEXT), "")
    args = [x for package, percent in progress for x in ("--progress", f"{package}={percent}")]
    args += [x for pair in options.items() for x in pair]
    for option in ("--commentary", "--note", "--issue", "--risk"):
        if draw(st.booleans()):
            args += [option, draw(st.one_of(TEXT, st.just("Late:low:high")))]
    return args + (["--complete"] if draw(st.booleans()) else [])


def reporting_run() -> str:
    """A new project whose run waits for status updates in its execution stage: each case
    starts from no history, so that what it sends is judged on its own."""
    run_id = str(uuid.uuid4())
    brief = make_brief(key=f"F{run_id[:8].upper()}")
    with session_scope() as session:
        project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=run_id)
        project.current_stage = EXECUTION.name
        baselined(session, project)
        ensure_stage_run(session, project=project, stage=EXECUTION, attempt=1).status = "reporting"
    return run_id


def updates_on_record() -> int:
    with session_scope() as session:
        return session.query(StatusUpdateRecord).count()


@fuzz(200)
@given(command=status_command())
def test_a_generated_status_update_is_recorded_or_refused_in_one_line(store_url, command):
    args = ["status", reporting_run(), *command]
    before = updates_on_record()
    result = CliRunner().invoke(app, args)

    event("recorded" if result.exit_code == 0 else "refused")
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    if result.exit_code == 2:
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, (
            args,
            result.output,
        )
        assert updates_on_record() == before  # a refusal records nothing
    else:
        assert updates_on_record() == before + 1
