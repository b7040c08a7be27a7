"""A mistyped command line is one line and exit status 2, like any other mistake."""

import pytest
from typer.testing import CliRunner

from pmo.cli import app

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["approve", "RUN", "--as", "a@example.com", "--decision", "maybe", "--code", "C"],
            "error: Invalid value for '--decision': Value error, 'maybe' is not one of 'go', "
            "'kill', 'hold', 'recycle'.",
        ),
        (["approve"], "error: Missing argument 'run_id'."),
        (["nosuch"], "error: No such command 'nosuch'."),
        (["status", "RUN", "--progress"], "error: Option '--progress' requires an argument."),
        (["audit", "--no-such-option"], "error: No such option: --no-such-option"),
        (
            ["resumer", "--slots", "0"],
            "error: Invalid value for '--slots': Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_mistyped_command_line_is_one_line_and_exit_2(args, line):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip() == line


def test_help_is_still_the_help():
    assert CliRunner().invoke(app, ["--help"]).exit_code == 0
    alone = CliRunner().invoke(app, [])
    assert alone.exit_code == 2 and "Commands" in alone.output
