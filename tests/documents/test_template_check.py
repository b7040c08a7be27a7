"""A PMO's broken template is caught before a project runs: one line, exit status 2."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmo import templating
from pmo.cli import app
from pmo.documents.versions import check_lifecycle_templates
from pmo.errors import TemplateProblem
from pmo.settings import get_settings
from process_library.loader import load_lifecycle

pytestmark = pytest.mark.unit

BROKEN = "# Charter\n\n{% for r in risks %}\n{{ r.risk.description }}\n"
PROBLEM = "Unexpected end of template. Jinja was looking for the following tags: 'endfor'"


@pytest.fixture
def own_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "pmo-templates"
    folder.mkdir()
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(folder))
    get_settings.cache_clear()
    templating._environment.cache_clear()
    yield folder
    get_settings.cache_clear()
    templating._environment.cache_clear()


def test_every_template_a_lifecycle_renders_is_checked_and_overrides_win(own_templates):
    (own_templates / "charter.md.j2").write_text("# Our charter\n", encoding="utf-8")
    lifecycle = load_lifecycle("pmbok-waterfall").lifecycle

    checked = check_lifecycle_templates(lifecycle)

    names = [path.name for path in checked]
    assert "gate-review.md.j2" in names and "audit-checklist.md.j2" in names
    assert len(names) == len(set(names))
    assert own_templates / "charter.md.j2" in checked


def test_a_missing_template_is_named(own_templates, monkeypatch):
    monkeypatch.setattr(templating, "BUNDLED_TEMPLATES", own_templates)
    templating._environment.cache_clear()
    with pytest.raises(TemplateProblem, match="^charter.md.j2: there is no template named"):
        check_lifecycle_templates(load_lifecycle("pmbok-waterfall").lifecycle)


@pytest.mark.parametrize(
    "command", [["library", "validate"], ["demo", "--out", "OUT"]], ids=["validate", "demo"]
)
def test_a_broken_template_is_one_line_and_exit_2_before_anything_runs(
    own_templates, tmp_path, command
):
    broken = own_templates / "charter.md.j2"
    broken.write_text(BROKEN, encoding="utf-8")
    out = tmp_path / "out"

    result = CliRunner().invoke(app, [str(out) if arg == "OUT" else arg for arg in command])

    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {broken}:4: {PROBLEM}")
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())  # nothing was run or written


def test_a_broken_portfolio_audit_template_fails_library_validate(own_templates):
    broken = own_templates / "portfolio-audit.md.j2"
    broken.write_text(BROKEN, encoding="utf-8")

    result = CliRunner().invoke(app, ["library", "validate"])

    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(f"error: {broken}:4: {PROBLEM}")
