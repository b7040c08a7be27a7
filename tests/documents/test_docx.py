"""markdown_to_docx: every Markdown construct a template uses, read back with python-docx."""

import struct
import zlib
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.shared import Cm

from pmo import templating
from pmo.documents.docx import DocumentHeader, markdown_to_docx
from pmo.errors import TemplateProblem
from pmo.settings import get_settings
from pmo.templating import render_markdown

pytestmark = pytest.mark.unit

HEADER = DocumentHeader(
    project="Atlas CRM migration",
    document="Project charter",
    version="2",
    stage="Initiating",
    lifecycle="PRINCE2 2017 v1.0",
)


@pytest.fixture(autouse=True)
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings without a PMO reference file, and a PMO template folder in `tmp_path`."""
    monkeypatch.delenv("PMO_REFERENCE_DOCX", raising=False)
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(tmp_path))
    get_settings.cache_clear()
    templating._environment.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    templating._environment.cache_clear()


def convert(markdown: str, reference: Path | None = None) -> Document:
    return docx.Document(
        BytesIO(markdown_to_docx(markdown, header=HEADER, reference_docx=reference))
    )


def styled(document: Document) -> list[tuple[str, str]]:
    return [(paragraph.style.name, paragraph.text) for paragraph in document.paragraphs]


def write_png(path: Path, width: int = 8, height: int = 4) -> Path:
    """A tiny red PNG, so the tests need no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )
    return path


def test_headings_become_title_and_word_headings() -> None:
    document = convert("# Charter\n\n## Purpose\n\n### Detail\n\n#### Finer\n\n# Appendix\n")

    assert styled(document) == [
        ("Title", "Charter"),
        ("Heading 2", "Purpose"),
        ("Heading 3", "Detail"),
        ("Heading 4", "Finer"),
        ("Heading 1", "Appendix"),
    ]


def test_inline_formatting_links_and_breaks() -> None:
    document = convert(
        "Plain **bold** *italic* `code` ~~gone~~ [the plan](https://example.org/p?a=1&b=2)  \n"
        "after a hard break,\nafter a soft one\n"
    )

    paragraph = document.paragraphs[0]
    assert paragraph.text == (
        "Plain bold italic code gone the plan\nafter a hard break, after a soft one"
    )
    runs = {run.text: run for run in paragraph.iter_inner_content() if hasattr(run, "bold")}
    assert runs["bold"].bold and runs["italic"].italic and runs["gone"].font.strike
    assert runs["code"].font.name == "Consolas"
    (link,) = paragraph.hyperlinks
    assert link.text == "the plan"
    assert link.address == "https://example.org/p?a=1&b=2"


def test_lists_nest_and_each_numbered_list_starts_again() -> None:
    document = convert(
        "- one\n- two\n  - two a\n    1. deep\n\n"
        "1. first\n2. second\n\nBetween.\n\n3. third, numbered 3 again\n4. fourth\n"
    )

    assert styled(document) == [
        ("List Bullet", "one"),
        ("List Bullet", "two"),
        ("List Bullet 2", "two a"),
        ("List Number 3", "deep"),
        ("List Number", "first"),
        ("List Number", "second"),
        ("Normal", "Between."),
        ("List Number", "third, numbered 3 again"),
        ("List Number", "fourth"),
    ]
    num_ids = [
        p._p.pPr.numPr.numId.val
        for p in document.paragraphs
        if p._p.pPr is not None and p._p.pPr.numPr is not None
    ]
    assert num_ids[1] == num_ids[2] != num_ids[3] == num_ids[4]
    numbering = document.part.numbering_part.element
    restart = numbering.num_having_numId(num_ids[3])
    assert restart.xpath("./w:lvlOverride/w:startOverride/@w:val") == ["3"]


def test_task_items_become_checkboxes() -> None:
    document = convert("- [ ] book the room\n- [x] name the sponsor\n- [X] **agreed** scope\n")

    assert [p.text for p in document.paragraphs] == [
        "\u2610 book the room",
        "\u2612 name the sponsor",
        "\u2612 agreed scope",
    ]
    assert {p.style.name for p in document.paragraphs} == {"List Continue"}


def test_tables_keep_their_rows_cells_and_header() -> None:
    document = convert(
        "| Risk | Owner | Score |\n|---|---|--:|\n| Vendor late | Ann | 12 |\n"
        "| Data *loss* | Bob | 20 |\n| Only one cell |\n"
    )

    (table,) = document.tables
    assert [[cell.text for cell in row.cells] for row in table.rows] == [
        ["Risk", "Owner", "Score"],
        ["Vendor late", "Ann", "12"],
        ["Data loss", "Bob", "20"],
        ["Only one cell", "", ""],
    ]
    assert table.style.name == "Table Grid"
    header_runs = [run for cell in table.rows[0].cells for run in cell.paragraphs[0].runs]
    assert all(run.bold for run in header_runs)
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert table.rows[1].cells[2].paragraphs[0].alignment == 2  # right


def test_two_tables_in_a_row_stay_two_tables() -> None:
    document = convert("| A |\n|---|\n| 1 |\n\n| B |\n|---|\n| 2 |\n")

    assert [table.rows[1].cells[0].text for table in document.tables] == ["1", "2"]
    body = [child.tag.rsplit("}", 1)[1] for child in document.element.body]
    assert body == ["tbl", "p", "tbl", "p", "sectPr"]


def test_images_are_embedded_with_their_caption(tmp_path: Path) -> None:
    picture = write_png(tmp_path / "burn down.png")

    document = convert(f"## Progress\n\n![Burn-down, *week 6*](<{picture}>)\n")

    assert len(document.inline_shapes) == 1
    assert abs(document.inline_shapes[0].width - Cm(15)) < Cm(0.1)
    assert styled(document)[-1] == ("Caption", "Burn-down, week 6")


def test_a_relative_image_is_read_from_the_documents_folder(tmp_path: Path) -> None:
    write_png(tmp_path / "APOLLO-plan-summary-v1-milestone-timeline.png")
    markdown = "![Timeline](APOLLO-plan-summary-v1-milestone-timeline.png)\n"

    document = docx.Document(
        BytesIO(markdown_to_docx(markdown, header=HEADER, images_dir=tmp_path))
    )

    assert len(document.inline_shapes) == 1
    assert styled(document)[-1] == ("Caption", "Timeline")


def test_checkboxes_in_table_cells_stay_text() -> None:
    document = convert("| Answer |\n|---|\n| ☒ Yes ☐ No ☐ N/A |\n")

    assert document.tables[0].rows[1].cells[0].text == "☒ Yes ☐ No ☐ N/A"


def test_a_missing_image_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nowhere.png"):
        convert(f"![chart]({tmp_path}/nowhere.png)")


def test_quotes_rules_and_code() -> None:
    document = convert("> The sponsor said so.\n\n---\n\n```\nline 1\n  line 2\n```\n")

    assert styled(document) == [
        ("Quote", "The sponsor said so."),
        ("Normal", ""),
        ("Code", "line 1\n  line 2"),
    ]
    border = document.paragraphs[1]._p.pPr.find(qn("w:pBdr"))
    assert border is not None
    assert "w:br" not in document.paragraphs[1]._p.xml  # a separator, never a page break


def test_every_page_header_and_the_properties_name_the_document() -> None:
    document = convert("# Charter\n")

    (line,) = [p.text for p in document.sections[0].header.paragraphs if p.text]
    assert line == (
        "Atlas CRM migration · Project charter v2 · Stage: Initiating · PRINCE2 2017 v1.0"
    )
    assert document.core_properties.title == "Project charter"
    assert document.core_properties.subject == "Atlas CRM migration"


@pytest.mark.parametrize(("version", "shown"), [("v3", "Charter v3"), ("1.2", "Charter v1.2")])
def test_the_header_shows_the_version_once(version: str, shown: str) -> None:
    header = DocumentHeader("P", "Charter", version, "S", "L")

    assert header.line() == f"P · {shown} · Stage: S · L"


def test_a_pmo_reference_keeps_its_look_and_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corporate = docx.Document()
    corporate.styles["Normal"].font.name = "Georgia"
    corporate.sections[0].header.paragraphs[0].text = "ACME PMO"
    corporate.add_paragraph("Template body text that must not survive")
    reference = tmp_path / "acme.docx"
    corporate.save(str(reference))
    monkeypatch.setenv("PMO_REFERENCE_DOCX", str(reference))
    get_settings.cache_clear()

    for document in (convert("Hello"), convert("Hello", reference=reference)):
        assert [p.text for p in document.paragraphs] == ["Hello"]
        assert document.styles["Normal"].font.name == "Georgia"
        header = [p.text for p in document.sections[0].header.paragraphs]
        assert header[0] == "ACME PMO" and header[1].startswith("Atlas CRM migration · ")


def test_a_missing_or_broken_reference_is_a_template_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateProblem, match="does not exist"):
        convert("x", reference=tmp_path / "missing.docx")
    broken = tmp_path / "broken.docx"
    broken.write_text("not a zip")
    with pytest.raises(TemplateProblem, match="not a Word .docx file"):
        convert("x", reference=broken)


def test_typed_text_reaches_word_exactly(settings: Path) -> None:
    typed = [
        "{{ 7*7 }}",
        "a | b | c",
        "<script>alert('x')</script>",
        "**not bold** and _not italic_",
        "# not a heading",
        "[x](y) ![i](/etc/passwd)",
        "`not code`",
        "1. not a list",
        "- not a bullet",
        "[ ] not a task",
        "&amp; \\escaped\\",
        "Привет, мир",
        "東京",
        "مرحبا بالعالم",
    ]
    (settings / "brief.md.j2").write_text(
        "# {{ title }}\n\n{% for value in values %}\n{{ value }}\n\n{% endfor %}"
        "| Field | Typed |\n|---|---|\n"
        "{% for value in values %}\n| {{ loop.index }} | {{ value }} |\n{% endfor %}\n"
        "{% for value in values %}\n- {{ value }}\n{% endfor %}\n",
        encoding="utf-8",
    )

    markdown = render_markdown("brief.md.j2", {"title": "| **Atlas** |", "values": typed})
    document = convert(markdown)

    paragraphs = [p.text for p in document.paragraphs if p.text]
    count = len(typed)
    assert paragraphs[0] == "| **Atlas** |"
    assert paragraphs[1 : count + 1] == typed
    assert paragraphs[count + 1 :] == typed
    assert {p.style.name for p in document.paragraphs[count + 2 : 2 * count + 2]} == {"List Bullet"}
    (table,) = document.tables
    assert len(table.rows) == count + 1
    assert all(len(row.cells) == 2 for row in table.rows)
    assert [row.cells[1].text for row in table.rows[1:]] == typed


def test_characters_word_cannot_hold_are_dropped() -> None:
    document = convert("bell\x07 and \x0bvertical tab")

    assert document.paragraphs[0].text == "bell and vertical tab"


def test_empty_markdown_is_still_a_valid_document() -> None:
    document = convert("")

    assert [p.text for p in document.paragraphs] == [""]


def test_runs_keep_their_edge_spaces_and_tabs() -> None:
    document = convert("**Bold** and\ttabbed *it* ")

    paragraph = document.paragraphs[0]
    assert paragraph.text == "Bold and\ttabbed it"
    spaced = [t for t in paragraph._p.iter(qn("w:t")) if t.text.startswith(" ")]
    assert spaced and all(t.get(qn("xml:space")) == "preserve" for t in spaced)
    assert paragraph._p.findall(f".//{qn('w:tab')}")


def test_table_columns_are_as_wide_as_their_text_needs() -> None:
    document = convert(
        "| # | Risk | Rating |\n|---|---|---|\n"
        "| 1 | The ERP vendor delivers the order API three months late | High |\n"
    )

    number, risk, rating = [column.width for column in document.tables[0].columns]
    assert number < rating < risk
    section = document.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    assert abs(number + risk + rating - text_width) < Cm(0.1)
    cell_widths = [cell.width for cell in document.tables[0].rows[1].cells]
    assert cell_widths == [number, risk, rating]
