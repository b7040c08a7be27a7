"""Write a document the one way: its template to Markdown, the Markdown to Word, both to disk.

A project document version (`pmo.documents.versions`) and the PMO's portfolio audit report
(`pmo.documents.audit_report`) both come out of here, so they share the sandbox, the PMO's
template overrides, the Word reference styles and the atomic writes.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmo.documents.docx import DocumentHeader, markdown_to_docx
from pmo.files import write_atomically
from pmo.templating import render_markdown


@dataclass(frozen=True)
class WrittenDocument:
    markdown: str
    docx: bytes
    markdown_path: Path
    docx_path: Path


def write_document(
    folder: Path,
    stem: str,
    *,
    template: str,
    context: Mapping[str, Any],
    header: DocumentHeader,
) -> WrittenDocument:
    """Render `template` with `context` into `folder/<stem>.md` and `folder/<stem>.docx`.

    Charts the template draws are expected in `folder` (the .docx embeds them from there).
    Nothing is written when the template or the reference Word file is broken.
    """
    markdown = render_markdown(template, context)
    docx = markdown_to_docx(markdown, header=header, images_dir=folder)
    markdown_path = write_atomically(folder / f"{stem}.md", markdown.encode("utf-8"))
    docx_path = write_atomically(folder / f"{stem}.docx", docx)
    return WrittenDocument(markdown, docx, markdown_path, docx_path)
