"""Walk Markdown tokens (markdown-it) into python-docx paragraphs, lists and tables."""

import re
from dataclasses import dataclass
from pathlib import Path

from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pmo.documents.inline import write_inline
from pmo.documents.word import (
    MONOSPACE,
    add_bottom_border,
    clean,
    column_widths,
    mark_header_row,
    restart_numbering,
    set_column_widths,
    set_numbering,
)

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_TASK = re.compile(r"\[([ xX])\](?:[ \t]+|$)")
_CHECKBOXES = {" ": "\u2610 ", "x": "\u2612 ", "X": "\u2612 "}
_ALIGNMENTS = {
    "text-align:right": WD_ALIGN_PARAGRAPH.RIGHT,
    "text-align:center": WD_ALIGN_PARAGRAPH.CENTER,
}
_TABLE_STYLES = ("Table Grid", "Light Grid Accent 1")


@dataclass
class _List:
    ordered: bool
    num_id: int | None
    awaiting_item_paragraph: bool = False


class BlockWriter:
    """Appends the blocks of a Markdown text to a python-docx Document."""

    def __init__(self, document: Document, *, images_dir: Path | None = None) -> None:
        self.document = document
        self.images_dir = images_dir
        section = document.sections[-1]
        # The width between the margins, shared between a table's columns (EMU).
        self.text_width = (
            (section.page_width or 0) - (section.left_margin or 0) - (section.right_margin or 0)
        )
        # Looking a style up by name in python-docx scans every style, per paragraph.
        self.style_ids = {style.name: style.style_id for style in document.styles}
        self.lists: list[_List] = []
        self.quote_depth = 0
        self.written = False
        self.last_was_table = False

    def write(self, markdown: str) -> None:
        """Write every block of `markdown`."""
        tokens = PARSER.parse(markdown)
        index = 0
        while index < len(tokens):
            index = self._block(tokens, index) + 1
        if not self.written or self.last_was_table:
            self._add_paragraph("Normal")  # Word expects a paragraph to end the body

    def _block(self, tokens: list[Token], index: int) -> int:
        """Write the block that starts at `tokens[index]`; return the index of its last token."""
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            level = int(token.tag[1:])
            title = level == 1 and not self.written
            self._paragraph("Title" if title else f"Heading {level}", tokens[index + 1])
            return index + 2
        if kind == "paragraph_open":
            self._body_paragraph(tokens[index + 1])
            return index + 2
        if kind == "table_open":
            return self._table(tokens, index)
        if kind in ("bullet_list_open", "ordered_list_open"):
            self._open_list(kind == "ordered_list_open", int(token.attrs.get("start", 1)))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open":
            self.lists[-1].awaiting_item_paragraph = True
        elif kind == "list_item_close" and self.lists[-1].awaiting_item_paragraph:
            self._item_paragraph(None)
        elif kind == "blockquote_open":
            self.quote_depth += 1
        elif kind == "blockquote_close":
            self.quote_depth -= 1
        elif kind == "hr":
            add_bottom_border(self._add_paragraph("Normal"))
        elif kind in ("fence", "code_block"):
            self._code(token.content)
        elif kind == "html_block" and not token.content.lstrip().startswith("<!--"):
            self._add_paragraph("Normal").add_run(clean(token.content.strip()))
        return index

    def _style(self, name: str) -> str:
        """`name`, or for a missing `List Bullet 3` the `List Bullet`, else Normal."""
        if name in self.style_ids:
            return name
        base = name.rstrip(" 0123456789")
        return base if base in self.style_ids else "Normal"

    def _add_paragraph(self, style: str, container: _Cell | None = None) -> Paragraph:
        self.written = True
        self.last_was_table = False
        paragraph = (container or self.document).add_paragraph()
        name = self._style(style)
        if name != "Normal":
            paragraph._p.style = self.style_ids[name]
        return paragraph

    def _paragraph(
        self, style: str, inline: Token | None, prefix: str = "", skip: int = 0
    ) -> Paragraph:
        paragraph = self._add_paragraph(style)
        if inline is not None:
            self._inline(paragraph, inline, prefix=prefix, skip=skip)
        return paragraph

    def _body_paragraph(self, inline: Token) -> None:
        if self.lists:
            self._item_paragraph(inline)
        else:
            self._paragraph("Quote" if self.quote_depth else "Normal", inline)

    def _open_list(self, ordered: bool, start: int) -> None:
        if self.lists and self.lists[-1].awaiting_item_paragraph:
            self._item_paragraph(None)  # an item that opens with a nested list
        style = self._style(self._list_style("List Number", len(self.lists) + 1))
        num_id = restart_numbering(self.document, style, start) if ordered else None
        self.lists.append(_List(ordered, num_id))

    def _list_style(self, kind: str, depth: int) -> str:
        return kind if depth == 1 else f"{kind} {min(depth, 3)}"

    def _item_paragraph(self, inline: Token | None) -> None:
        current, depth = self.lists[-1], len(self.lists)
        if not current.awaiting_item_paragraph:
            self._paragraph(self._list_style("List Continue", depth), inline)
            return
        current.awaiting_item_paragraph = False
        task = _TASK.match(inline.content) if inline is not None else None
        if task:
            style = self._list_style("List Continue", depth)
            prefix, skip = _CHECKBOXES[task[1]], task.end()
            self._paragraph(style, inline, prefix=prefix, skip=skip)
            return
        kind = "List Number" if current.ordered else "List Bullet"
        paragraph = self._paragraph(self._list_style(kind, depth), inline)
        if current.num_id is not None:
            set_numbering(paragraph, current.num_id)

    def _code(self, content: str) -> None:
        paragraph = self._add_paragraph("Code")
        run = paragraph.add_run(clean(content.rstrip("\n")))
        if self._style("Code") != "Code":
            run.font.name = MONOSPACE

    def _table(self, tokens: list[Token], index: int) -> int:
        rows: list[list[Token]] = []
        alignments: list[str] = []
        while tokens[index].type != "table_close":
            token = tokens[index]
            if token.type == "tr_open":
                rows.append([])
            elif token.type in ("th_open", "td_open"):
                rows[-1].append(tokens[index + 1])
                if len(rows) == 1:
                    alignments.append(str(token.attrs.get("style", "")))
            index += 1
        if self.last_was_table:
            self._add_paragraph("Normal")  # Word would merge two adjacent tables into one
        table = self.document.add_table(rows=len(rows), cols=len(alignments))
        style = next((name for name in _TABLE_STYLES if name in self.style_ids), None)
        if style:
            table._tbl.tblStyle_val = self.style_ids[style]
        mark_header_row(table._tbl)
        if self.text_width:
            texts = [[cell.content for cell in row] for row in rows]
            set_column_widths(table._tbl, column_widths(texts, self.text_width))
        # The table's XML, not python-docx's `rows`/`cells`, which work out the grid anew
        # for every cell: a third of the time of a table-heavy document.
        for number, (row, tr) in enumerate(zip(rows, table._tbl.tr_lst, strict=True)):
            for inline, tc, alignment in zip(row, tr.tc_lst, alignments, strict=False):
                cell = _Cell(tc, table)
                paragraph = Paragraph(tc.p_lst[0], cell)
                if alignment in _ALIGNMENTS:
                    paragraph.alignment = _ALIGNMENTS[alignment]
                self._inline(paragraph, inline, container=cell, bold=number == 0)
        self.written = self.last_was_table = True
        return index

    def _inline(
        self,
        paragraph: Paragraph,
        inline: Token,
        *,
        container: _Cell | None = None,
        bold: bool = False,
        prefix: str = "",
        skip: int = 0,
    ) -> None:
        captions = write_inline(
            paragraph,
            inline,
            link_style_id=self.style_ids.get("Hyperlink"),
            images_dir=self.images_dir,
            bold=bold,
            prefix=prefix,
            skip=skip,
        )
        for caption in captions:
            self._add_paragraph("Caption", container).add_run(caption)
