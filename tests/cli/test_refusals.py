"""Bad input is refused with one line naming the field, exit 2, before Prefect is imported
(importing it alone takes seconds) and before the store is opened: nothing is recorded."""

import json
import subprocess
import sys

import pytest

from pmo.limits import TEXT_CHARS
from tests.factories import BRIEF_DATA, brief_data, write_brief

pytestmark = pytest.mark.unit

RUN_ID = "0b9a3f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
# Runs the CLI in a fresh interpreter, as a person would, and reports which modules it loaded.
SCRIPT = """
import json, sys
from typer.testing import CliRunner
from pmo.cli import app
results = [CliRunner().invoke(app, args) for args in json.loads(sys.argv[1])]
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "prefect")
print(json.dumps({"results": [[r.exit_code, r.output] for r in results], "prefect": loaded}))
"""


def test_bad_input_is_refused_in_one_line_before_prefect_is_imported(tmp_path, pmo_home):
    long_name = write_brief(tmp_path, brief_data(name="N" * 5_000), "long-name.yaml")
    twice = [*BRIEF_DATA["stakeholders"], BRIEF_DATA["stakeholders"][0]]
    duplicate = write_brief(tmp_path, brief_data(stakeholders=twice), "twice.yaml")
    essay = "E" * (TEXT_CHARS + 1)
    commands = [
        ["start", str(long_name)],
        ["start", str(duplicate)],
        ["demo", "--brief", str(long_name), "--out", str(tmp_path / "out")],
        ["approve", RUN_ID, "--as", "dana.reyes@example.com", "--decision", "go"]
        + ["--code", "7KQ4-M2XD-9PZA", "--comment", essay],
        ["status", RUN_ID, "--progress", "1=50", "--actual-cost", "10"]
        + ["--forecast-finish", "2027-10-29", "--forecast-cost", "10", "--commentary", essay],
    ]
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout)

    lines = []
    for exit_code, output in report["results"]:
        assert exit_code == 2, output
        assert len(output.strip().splitlines()) == 1 and "Traceback" not in output
        lines.append(output.strip())
    assert lines == [
        f"error: {long_name}: name: String should have at most 200 characters",
        f"error: {duplicate}: stakeholders: dana.reyes@example.com is listed as stakeholders "
        "1 and 6; a person appears once (give them one role)",
        f"error: {long_name}: name: String should have at most 200 characters",
        f"error: --comment: is {TEXT_CHARS + 1:,} characters long; at most {TEXT_CHARS:,} "
        "are taken",
        f"error: --commentary: is {TEXT_CHARS + 1:,} characters long; at most {TEXT_CHARS:,} "
        "are taken",
    ]
    assert report["prefect"] == []
    assert not (pmo_home / "pmo.db").exists()  # the store was never opened


@pytest.mark.integration  # opens the store
def test_the_approval_code_can_be_typed_at_a_prompt_that_does_not_echo_it():
    from typer.testing import CliRunner

    from pmo.cli import app

    args = ["approve", "not-a-run", "--as", "dana.reyes@example.com", "--decision", "go"]
    result = CliRunner().invoke(app, args, input="7KQ4-M2XD-9PZA\n")
    assert result.exit_code == 2
    assert "Approval code:" in result.output and "7KQ4-M2XD-9PZA" not in result.output
    assert "error: RUN_ID: 'not-a-run' is not a run id" in result.output
