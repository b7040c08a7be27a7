"""Documents: a Jinja2 template renders Markdown, which becomes a Word .docx (emails: text)."""

from pmo.documents.docx import DocumentHeader, markdown_to_docx
from pmo.documents.filters import MarkdownText
from pmo.documents.render import check_template, render_markdown, render_text

__all__ = [
    "DocumentHeader",
    "MarkdownText",
    "check_template",
    "markdown_to_docx",
    "render_markdown",
    "render_text",
]
