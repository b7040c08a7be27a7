"""`pmo plan check` schedules a plan and measures earned value without a server; `pmo plan
RUN_ID PLAN` goes to the group's `submit` command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.models import CommandInfo
from typer.testing import CliRunner

from pmo.cli import app
from pmo.cli import plan as plan_cli
from tests.plan.worked import WORKED

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "pmo" / "examples"


@pytest.fixture
def worked(tmp_path) -> Path:
    path = tmp_path / "worked.yaml"
    path.write_text(yaml.safe_dump(WORKED, sort_keys=False), encoding="utf-8")
    return path


def test_check_prints_the_schedule_critical_path_and_finish(worked):
    result = CliRunner().invoke(app, ["plan", "check", str(worked)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Finish: 2027-02-23 (16 working days)" in result.output
    assert "Critical path: 1.1 -> 1.3 -> 2.2 -> 3.1 -> 3.2" in result.output
    design = next(line for line in result.output.splitlines() if " 1.2 " in line)
    assert "2027-02-08" in design and "2027-02-10" in design and " 1 " in design
    assert "*" not in design
    assert "*" in next(line for line in result.output.splitlines() if " 1.3 " in line)
    assert "Earned value" not in result.output


def test_check_with_progress_gives_the_json_of_the_design(worked):
    args = ["plan", "check", str(worked), "--as-of", "2027-02-17", "--json"]
    args += ["--progress", "1.1=100", "--progress", "1.2=100", "--progress", "1.3=75"]
    args += ["--progress", "2.2=10", "--actual-cost", "19,000"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["finish"] == "2027-02-23" and data["duration_days"] == 16
    assert data["critical_path"] == ["1.1", "1.3", "2.2", "3.1", "3.2"]
    assert {
        "key",
        "early_start",
        "early_finish",
        "late_start",
        "late_finish",
        "total_float",
    } <= set(data["work_packages"][0])
    evm = data["evm"]
    assert (evm["pv"], evm["ev"], evm["ac"], evm["spi"], evm["cpi"]) == (
        24000.0,
        17400.0,
        19000.0,
        0.725,
        0.9158,
    )
    assert (evm["eac"], evm["etc"], evm["vac"], evm["tcpi"]) == (
        31666.67,
        12666.67,
        -2666.67,
        1.16,
    )
    assert (evm["es_days"], evm["spi_t"], evm["forecast_finish"]) == (8.2, 0.6833, "2027-03-05")


def test_check_text_shows_the_earned_value(worked):
    args = ["plan", "check", str(worked), "--as-of", "2027-02-17", "--progress", "1.1=100"]
    result = CliRunner().invoke(app, [*args, "--actual-cost", "4000"])
    assert result.exit_code == 0, result.output
    assert "PV 24,000.00  EV 5,000.00  AC 4,000.00" in result.output
    assert "CPI 1.2500" in result.output


def test_start_moves_the_plan(worked):
    result = CliRunner().invoke(app, ["plan", "check", str(worked), "--start", "2027-03-01"])
    assert result.exit_code == 0, result.output
    assert "Finish: 2027-03-22 (16 working days)" in result.output  # no holiday on the way


def test_the_three_example_formats_check_alike():
    outputs = [
        json.loads(
            CliRunner()
            .invoke(app, ["plan", "check", str(EXAMPLES / f"apollo-plan.{ext}"), "--json"])
            .output
        )
        for ext in ("yaml", "csv", "xml")
    ]
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (["--progress", "9.9=10"], "error: progress: 9.9: is not a work package of the plan"),
        (["--progress", "1.1=140"], "error: progress: 1.1: 140.0 is outside 0 to 100"),
        (["--progress", "1.1"], "error: --progress: '1.1' is not KEY=PERCENT (e.g. 1.1=40)"),
        (["--as-of", "tomorrow"], "error: --as-of: 'tomorrow' is not a date (YYYY-MM-DD)"),
        (["--start", "2027-13-01"], "error: --start: '2027-13-01' is not a date (YYYY-MM-DD)"),
        (["--actual-cost", "lots"], "error: --actual-cost: 'lots' is not an amount"),
        (["--actual-cost", "-5"], "error: actual_cost: -5 is below zero"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(worked, extra, line):
    result = CliRunner().invoke(app, ["plan", "check", str(worked), *extra])
    assert result.exit_code == 2
    assert result.output.strip() == line


def test_a_bad_plan_file_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text("key,name,owner,duration_days,budget\n1.1,A,a@example.com,x,1\n")
    result = CliRunner().invoke(app, ["plan", "check", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {path}: line 2: duration_days: 'x' is not a number"


def test_a_plan_without_a_start_needs_one_from_the_command_line(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in WORKED.items() if k != "start"}))
    result = CliRunner().invoke(app, ["plan", "check", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {path}: start: the plan has no start date; give one with --start"
    )
    started = CliRunner().invoke(app, ["plan", "check", str(path), "--start", "2027-02-01"])
    assert "Finish: 2027-02-23" in started.output


def test_a_first_argument_that_is_no_command_goes_to_submit(monkeypatch, worked):
    """The routing only: the real `submit` belongs to the planning stage's side."""

    def submit(run_id: str, plan: Path, reason: str = typer.Option("")) -> None:
        typer.echo(f"submit {run_id} {plan.name} {reason}")

    commands = [*plan_cli.app.registered_commands, CommandInfo(name="submit", callback=submit)]
    monkeypatch.setattr(plan_cli.app, "registered_commands", commands)
    runner = CliRunner()
    routed = runner.invoke(app, ["plan", "RUN-1", str(worked), "--reason", "why"])
    assert routed.exit_code == 0, routed.output
    assert routed.output.strip() == "submit RUN-1 worked.yaml why"
    explicit = runner.invoke(app, ["plan", "submit", "RUN-2", str(worked)])
    assert explicit.output.strip() == "submit RUN-2 worked.yaml"
    checked = runner.invoke(app, ["plan", "check", str(worked)])
    assert "Critical path" in checked.output


def test_pmo_plan_run_id_goes_to_submit_which_refuses_a_missing_file_in_one_line():
    result = CliRunner().invoke(app, ["plan", "RUN-1", "plan.yaml"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: plan.yaml: cannot be read: No such file or directory"


def test_check_does_not_import_prefect(worked):
    code = (
        "import sys; from typer.testing import CliRunner; from pmo.cli import app; "
        f"r = CliRunner().invoke(app, ['plan', 'check', {str(worked)!r}, '--json']); "
        "assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
