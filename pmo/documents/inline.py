"""Write one Markdown inline token (text, emphasis, code, links, images) into a Word paragraph."""

import re
from pathlib import Path

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.text.hyperlink import CT_Hyperlink
from docx.text.paragraph import Paragraph
from markdown_it.token import Token

from pmo.documents.word import (
    MONOSPACE,
    add_hyperlink,
    add_link_run,
    add_picture,
    add_text_run,
    clean,
)

_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


def write_inline(
    paragraph: Paragraph,
    inline: Token,
    *,
    link_style_id: str | None,
    images_dir: Path | None = None,
    bold: bool = False,
    prefix: str = "",
    skip: int = 0,
) -> list[str]:
    """Fill `paragraph` from `inline`; return the captions of its images, to write below it."""
    # `prefix` replaces the first `skip` characters of the text (a task item's "[ ] ").
    depth = {"strong": int(bold), "em": 0, "s": 0}
    link = None
    captions: list[str] = []
    if prefix:
        add_text_run(paragraph, prefix)
    for child in inline.children or ():
        kind = child.type
        name, _, edge = kind.rpartition("_")
        if name in depth and edge in ("open", "close"):
            depth[name] += 1 if edge == "open" else -1
        elif kind == "hardbreak" or (
            kind == "html_inline" and _LINE_BREAK_TAG.fullmatch(child.content)
        ):
            paragraph.add_run().add_break()
        elif kind == "link_open":
            link = add_hyperlink(paragraph, str(child.attrs["href"]))
        elif kind == "link_close":
            link = None
        elif kind == "image":
            add_picture(paragraph.add_run(), str(child.attrs["src"]), images_dir)
            captions.append(clean(_plain_text(child)))
        else:  # text, code, a soft break (a space), literal HTML the template wrote
            text = " " if kind == "softbreak" else child.content
            if skip and kind == "text":
                text, skip = text[skip:], max(0, skip - len(text))
            if text:
                _run(paragraph, link, link_style_id, clean(text), depth, kind == "code_inline")
    if captions and all(c.type == "image" or not c.content.strip() for c in inline.children):
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return [caption for caption in captions if caption]


def _run(
    paragraph: Paragraph,
    link: CT_Hyperlink | None,
    link_style_id: str | None,
    text: str,
    depth: dict[str, int],
    code: bool,
) -> None:
    if link is None:
        run = add_text_run(paragraph, text)
    else:
        run = add_link_run(paragraph, link, text, link_style_id)
    if depth["strong"]:
        run.bold = True
    if depth["em"]:
        run.italic = True
    if depth["s"]:
        run.font.strike = True
    if code:
        run.font.name = MONOSPACE


def _plain_text(token: Token) -> str:
    """The text of an image's alt (its caption), without Markdown."""
    return "".join(
        " " if child.type in ("softbreak", "hardbreak") else child.content
        for child in token.children or ()
        if child.type in ("text", "code_inline", "softbreak", "hardbreak")
    )
