"""Turn a document's Markdown into a Word .docx in the PMO's reference styles."""

from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from zipfile import BadZipFile

import docx
from docx.document import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn

import templates
from pmo.documents.blocks import BlockWriter
from pmo.documents.word import clean
from pmo.errors import TemplateProblem
from pmo.settings import get_settings

BUNDLED_REFERENCE = Path(templates.__file__).parent / "reference.docx"
_CORE_PROPERTY_LIMIT = 255
# Reading the reference's bytes once per process; each document parses them afresh.
_references: dict[Path, tuple[tuple[int, int], bytes]] = {}


@dataclass(frozen=True)
class DocumentHeader:
    """What the page header of every page says: which project, document, version, stage.

    A document of no one project (the portfolio audit) leaves stage and lifecycle empty."""

    project: str
    document: str
    version: str
    stage: str = ""
    lifecycle: str = ""

    def line(self) -> str:
        """One line: `Atlas · Project charter v2 · Stage: Initiating · PRINCE2 1.0`."""
        version = self.version.strip()
        if version[:1].isdigit():
            version = f"v{version}"
        document = f"{self.document} {version}" if version else self.document
        stage = f"Stage: {self.stage}" if self.stage else ""
        return " · ".join(part for part in (self.project, document, stage, self.lifecycle) if part)


def markdown_to_docx(
    markdown: str,
    *,
    header: DocumentHeader,
    reference_docx: Path | None = None,
    images_dir: Path | None = None,
) -> bytes:
    """The .docx bytes of `markdown`, styled like the reference Word file.

    Images with a relative path are read from `images_dir` (the Markdown file's folder).
    """
    reference = reference_docx or get_settings().reference_docx or BUNDLED_REFERENCE
    document = _open_reference(reference.expanduser())
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):  # the section keeps page size, margins, header, footer
            body.remove(child)
    BlockWriter(document, images_dir=images_dir).write(markdown)
    _write_header(document, header)
    _write_properties(document, header)
    output = BytesIO()
    document.save(output)
    return output.getvalue()


def _open_reference(path: Path) -> Document:
    try:
        stat = path.stat()
    except OSError:
        raise TemplateProblem(str(path), "the reference Word file does not exist") from None
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _references.get(path)
    if cached is None or cached[0] != version:
        cached = _references[path] = (version, path.read_bytes())
    try:
        return docx.Document(BytesIO(cached[1]))
    except (BadZipFile, PackageNotFoundError, KeyError, ValueError):
        del _references[path]
        raise TemplateProblem(str(path), "this is not a Word .docx file") from None


def _write_header(document: Document, header: DocumentHeader) -> None:
    """Add the header line to every page header, after whatever the reference has (a logo)."""
    text = clean(header.line())
    style = "Header" if "Header" in {style.name for style in document.styles} else None
    for number, section in enumerate(document.sections):
        parts = [section.header]
        if section.different_first_page_header_footer:
            parts.append(section.first_page_header)
        if document.settings.odd_and_even_pages_header_footer:
            parts.append(section.even_page_header)
        for part in parts:
            if part.is_linked_to_previous:
                if number:
                    continue  # it shows the first section's header already
                part.is_linked_to_previous = False
            paragraphs = part.paragraphs
            if len(paragraphs) == 1 and not paragraphs[0]._p.r_lst:
                paragraph = paragraphs[0]
                paragraph.add_run(text)
                if style:
                    paragraph.style = style
            else:
                part.add_paragraph(text, style=style)


def _write_properties(document: Document, header: DocumentHeader) -> None:
    properties = document.core_properties
    now = datetime.now(UTC)
    for name, value in (
        ("title", header.document),
        ("subject", header.project),
        ("keywords", "; ".join(part for part in (header.stage, header.lifecycle) if part)),
        ("version", header.version),
        ("comments", header.line()),
        ("last_modified_by", "pmo-flows"),
    ):
        setattr(properties, name, clean(value)[:_CORE_PROPERTY_LIMIT])
    properties.revision = 1
    properties.created = properties.modified = now
