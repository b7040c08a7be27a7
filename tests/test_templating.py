"""render_markdown: escaping of typed text, the filters, overrides and one-line template errors."""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from pmo import templating
from pmo.errors import TemplateProblem
from pmo.settings import get_settings
from pmo.templating import MarkdownText, render_markdown, render_text

pytestmark = pytest.mark.unit

HOSTILE = [
    "{{ 7*7 }}",
    "{% raw %}x{% endraw %}",
    "a | b",
    "<script>alert(1)</script>",
    "**not bold**",
    "# not a heading",
    "_not italic_",
    "[x](y)",
    "![i](/etc/passwd)",
    "`not code`",
    "1. not a list",
    "2) nor this",
    "- not a bullet",
    "+ nor this",
    "> not a quote",
    "---",
    "===",
    "~~not struck~~",
    "&amp; stays &lt;",
    "back\\slash\\",
    "Привет, мир",
    "東京の会議",
    "مرحبا بالعالم",
    'O\'Brien & "Sons" 100% C#',
    "[ ] not a task",
]
PARSER = MarkdownIt("commonmark").enable("table")

Write = Callable[[str, str], Path]


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """A PMO override folder (PMO_TEMPLATES_DIR) and a stand-in for the bundled templates."""
    override, bundled = tmp_path / "pmo", tmp_path / "bundled"
    override.mkdir()
    bundled.mkdir()
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(override))
    monkeypatch.setattr(templating, "BUNDLED_TEMPLATES", bundled)
    get_settings.cache_clear()
    templating._environment.cache_clear()
    yield override, bundled
    get_settings.cache_clear()
    templating._environment.cache_clear()


@pytest.fixture
def write(folders: tuple[Path, Path]) -> Write:
    """Write a template into the PMO override folder."""

    def write(name: str, text: str) -> Path:
        path = folders[0] / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def inline_text(markdown: str) -> list[str]:
    """The literal text of every paragraph, heading or table cell, as a reader would see it."""
    return [
        "".join(
            "\n" if child.type.endswith("break") else child.content
            for child in token.children or ()
        )
        for token in PARSER.parse(markdown)
        if token.type == "inline"
    ]


def problem(template: str, context: dict[str, object] | None = None) -> str:
    with pytest.raises(TemplateProblem) as raised:
        render_markdown(template, context or {})
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("typed", HOSTILE)
def test_typed_text_comes_out_literally_and_is_never_evaluated(write: Write, typed: str) -> None:
    write(
        "t.md.j2",
        "# {{ value }}\n\n{{ value }}\n\n- {{ value }}\n\n"
        "| A | B |\n|---|---|\n| {{ value }} | x |\n",
    )

    markdown = render_markdown("t.md.j2", {"value": typed})

    assert inline_text(markdown) == [typed] * 3 + ["A", "B", typed, "x"]
    assert "49" not in markdown


def test_a_value_with_line_breaks_stays_on_its_line(write: Write) -> None:
    write("t.md.j2", "| A | B |\n|---|---|\n| {{ value }} | x |\n")

    markdown = render_markdown("t.md.j2", {"value": "first\n\n| injected | row |\r\n# heading"})

    assert inline_text(markdown) == ["A", "B", "first | injected | row | # heading", "x"]


def test_numbers_dates_and_none_print_plainly(write: Write) -> None:
    write("t.md.j2", "{{ n }} {{ f }} {{ d }} {{ missing }}|")

    assert render_markdown(
        "t.md.j2", {"n": -3, "f": 2.5, "d": date(2027, 2, 1), "missing": None}
    ) == ("-3 2.5 2027-02-01 |")


def test_markdown_the_template_builds_is_kept_when_marked(write: Write) -> None:
    write(
        "t.md.j2",
        "{% macro row(r) %}| {{ r }} | **ok** |{% endmacro %}"
        "{{ row('a|b') | markdown }}\n{{ row('c') }}\n{{ built }}\n{{ plain }}",
    )

    markdown = render_markdown("t.md.j2", {"built": MarkdownText("**bold**"), "plain": "**typed**"})

    assert markdown.splitlines() == [
        "| a\\|b | **ok** |",
        "\\| c \\| \\*\\*ok\\*\\* \\|",
        "**bold**",
        "\\*\\*typed\\*\\*",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "Not recorded"), ("", "Not recorded"), ("  \n", "Not recorded"), ([], "Not recorded")]
    + [(0, "0"), ("Ann", "Ann"), (Decimal("0.0"), "0.0")],
)
def test_or_unknown_says_plainly_that_nothing_was_recorded(
    write: Write, value: object, shown: str
) -> None:
    write("t.md.j2", "{{ value | or_unknown }}|{{ value | or_unknown('None given') }}")

    expected_custom = "None given" if shown == "Not recorded" else shown
    assert render_markdown("t.md.j2", {"value": value}) == f"{shown}|{expected_custom}"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (250000, "USD", "USD 250,000"),
        (1234567.5, "EUR", "EUR 1,234,567.50"),
        (Decimal("0.1"), "GBP", "GBP 0.10"),
        ("-1500", "CHF", "CHF -1,500"),
        (None, "USD", "Not recorded"),
    ],
)
def test_money(write: Write, amount: object, currency: str, shown: str) -> None:
    write("t.md.j2", "{{ amount | money(currency) | or_unknown }}")

    assert render_markdown("t.md.j2", {"amount": amount, "currency": currency}) == shown


@pytest.mark.parametrize(
    ("value", "day", "moment"),
    [
        (date(2027, 2, 1), "1 Feb 2027", "2027-02-01 00:00 UTC"),
        (datetime(2027, 2, 1, 14, 3, tzinfo=UTC), "1 Feb 2027", "2027-02-01 14:03 UTC"),
        (datetime(2027, 12, 31, 23, 30), "31 Dec 2027", "2027-12-31 23:30 UTC"),
        ("2027-02-01", "1 Feb 2027", "2027-02-01 00:00 UTC"),
        ("2027-02-01T14:03:00Z", "1 Feb 2027", "2027-02-01 14:03 UTC"),
        (
            datetime(2027, 2, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))),
            "31 Jan 2027",
            "2027-01-31 23:00 UTC",
        ),
        (None, "Not recorded", "Not recorded"),
    ],
)
def test_date_and_datetime(write: Write, value: object, day: str, moment: str) -> None:
    write("t.md.j2", "{{ v | date | or_unknown }}|{{ v | datetime | or_unknown }}")

    assert render_markdown("t.md.j2", {"v": value}) == f"{day}|{moment}"


def test_basename(write: Write) -> None:
    write("t.md.j2", "{{ path | basename }}|{{ none | basename | or_unknown }}")

    shown = render_markdown(
        "t.md.j2", {"path": Path("/docs/ATL/ATL-charter_v2.docx"), "none": None}
    )

    assert shown == "ATL-charter\\_v2.docx|Not recorded"


def test_paragraphs_keeps_typed_paragraphs_and_line_breaks(write: Write) -> None:
    write("t.md.j2", "{{ text | paragraphs }}")

    markdown = render_markdown("t.md.j2", {"text": "One *line*\nnext\n\n\n# Two"})

    assert markdown == "One \\*line\\*\\\nnext\n\n\\# Two"
    assert inline_text(markdown) == ["One *line*\nnext", "# Two"]


def test_a_pmo_template_overrides_the_bundled_one(folders: tuple[Path, Path]) -> None:
    override, bundled = folders
    (bundled / "charter.md.j2").write_text("bundled {{ name }}", encoding="utf-8")
    (bundled / "closure.md.j2").write_text("bundled closure", encoding="utf-8")
    (override / "charter.md.j2").write_text("PMO's own {{ name }}", encoding="utf-8")

    assert render_markdown("charter.md.j2", {"name": "Atlas"}) == "PMO's own Atlas"
    assert render_markdown("closure.md.j2", {}) == "bundled closure"


def test_a_syntax_error_names_template_and_line(write: Write) -> None:
    path = write("charter.md.j2", "# Charter\n\n{% for risk in risks %}\n{{ risk }}\n")

    message = problem("charter.md.j2", {"risks": []})

    assert message.startswith(f"{path}:4: ")
    assert "endfor" in message


def test_an_undefined_variable_names_template_line_and_name(write: Write) -> None:
    path = write("charter.md.j2", "# Charter\n\n{{ sponsor }}\n")

    assert problem("charter.md.j2") == f"{path}:3: 'sponsor' is undefined"


def test_an_attribute_typo_names_the_expression(write: Write) -> None:
    path = write("charter.md.j2", "# {{ project.name }}\n\nSponsor: {{ project.sponsr }}\n")

    message = problem("charter.md.j2", {"project": {"name": "Atlas", "sponsor": "Ann"}})

    assert message == f"{path}:3: 'project' has no attribute 'sponsr'"


def test_a_bundled_template_is_named_by_its_place_in_the_package(
    folders: tuple[Path, Path],
) -> None:
    (folders[1] / "charter.md.j2").write_text("line one\n{{ project.sponsr }}\n")

    assert problem("charter.md.j2", {"project": {}}) == (
        "templates/charter.md.j2:2: 'project' has no attribute 'sponsr'"
    )


def test_the_sandbox_refuses_python_internals(write: Write) -> None:
    path = write("t.md.j2", "ok\n{{ name.__class__.__mro__ }}\n")

    message = problem("t.md.j2", {"name": "x"})

    assert message.startswith(f"{path}:2: ") and "unsafe" in message


def test_a_bad_value_for_a_filter_names_the_line(write: Write) -> None:
    path = write("t.md.j2", "\n{{ when | date }}\n")

    assert problem("t.md.j2", {"when": "next Tuesday"}) == (
        f"{path}:2: 'next Tuesday' is not a date"
    )


def test_a_missing_template_is_a_template_problem(write: Write) -> None:
    write("base.md.j2", "{% include 'part.md.j2' %}\n")

    assert problem("nowhere.md.j2") == "nowhere.md.j2: there is no template named 'nowhere.md.j2'"
    assert "there is no template named 'part.md.j2'" in problem("base.md.j2")


def test_a_templates_dir_that_is_not_a_folder_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(tmp_path / "missing"))
    get_settings.cache_clear()
    try:
        assert problem("charter.md.j2").startswith("PMO_TEMPLATES_DIR: ")
    finally:
        get_settings.cache_clear()


def test_render_text_fills_a_plain_text_template_without_escaping(write: Write) -> None:
    write("mail.txt.j2", "Dear {{ name }},\n{{ comment }}|{{ missing }}|{{ when | date }}\n")

    text = render_text(
        "mail.txt.j2",
        {"name": "**Ann** {{ 7*7 }}", "comment": "a | b_c", "missing": None, "when": "2027-02-01"},
    )

    assert text == "Dear **Ann** {{ 7*7 }},\na | b_c||1 Feb 2027\n"


def test_render_text_reports_a_broken_template_on_one_line(write: Write) -> None:
    path = write("mail.txt.j2", "Hello\n{{ gate.nmae }}\n")

    with pytest.raises(TemplateProblem) as raised:
        render_text("mail.txt.j2", {"gate": {"name": "G1"}})

    assert str(raised.value) == f"{path}:2: 'gate' has no attribute 'nmae'"
