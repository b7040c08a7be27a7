"""Small python-docx operations its API does not offer (hyperlinks, numbering restarts...)."""

import math
import re
from pathlib import Path
from urllib.parse import unquote

from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl
from docx.oxml.text.hyperlink import CT_Hyperlink
from docx.shared import Cm, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

IMAGE_WIDTH = Cm(15)
_CHARACTER = Cm(0.2)  # the width of an average character of table text
MONOSPACE = "Consolas"
LINK_COLOUR = RGBColor(0x1F, 0x4E, 0x9A)
# Characters XML 1.0 cannot hold; python-docx refuses them, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_RUN_BREAKS = re.compile("[\t\n\r]")
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_RUN, _TEXT = qn("w:r"), qn("w:t")


def clean(text: str) -> str:
    """`text` without the control characters a Word file cannot contain."""
    return _NOT_XML.sub("", text)


def add_text_run(paragraph: Paragraph, text: str, hyperlink: CT_Hyperlink | None = None) -> Run:
    """A run holding `text` at the end of `paragraph`, or of `hyperlink` in it.

    python-docx's `Run.text` walks the text a character at a time to turn tabs and line
    breaks into elements; document text rarely has either, so plain text is set in one go
    (this halves the time of a whole charter).
    """
    container = hyperlink if hyperlink is not None else paragraph._p
    if _RUN_BREAKS.search(text):
        run = Run(container.add_r(), paragraph)
        run.text = text
        return run
    # SubElement keeps python-docx's element classes (the document's parser picks them)
    # at a third of the cost of OxmlElement.
    r = etree.SubElement(container, _RUN)
    t = etree.SubElement(r, _TEXT)
    t.text = text
    if text[:1].isspace() or text[-1:].isspace():
        t.set(_XML_SPACE, "preserve")
    return Run(r, paragraph)


def add_hyperlink(paragraph: Paragraph, url: str) -> CT_Hyperlink:
    """An empty external hyperlink at the end of `paragraph`; fill it with `add_link_run`."""
    hyperlink = OxmlElement("w:hyperlink")
    hyperlink.set(qn("r:id"), paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, True))
    paragraph._p.append(hyperlink)
    return hyperlink  # type: ignore[return-value]


def add_link_run(
    paragraph: Paragraph, hyperlink: CT_Hyperlink, text: str, style_id: str | None
) -> Run:
    """A run inside `hyperlink`, in the Hyperlink style or, lacking it, blue and underlined."""
    run = add_text_run(paragraph, text, hyperlink)
    if style_id:
        run._r.style = style_id
    else:
        run.font.color.rgb = LINK_COLOUR
        run.font.underline = True
    return run


def restart_numbering(document: Document, style_name: str, start: int) -> int | None:
    """A new numbering instance for a list in `style_name` that starts at `start`."""
    # Every paragraph of a numbered style shares one counter: without a new instance the
    # second numbered list of a document would carry on from the first.
    properties = document.styles[style_name].element.pPr
    if properties is None or properties.numPr is None or properties.numPr.numId is None:
        return None
    numbering = document.part.numbering_part.element
    try:
        shared = numbering.num_having_numId(properties.numPr.numId.val)
    except KeyError:
        return None
    level = properties.numPr.ilvl.val if properties.numPr.ilvl is not None else 0
    instance = numbering.add_num(shared.abstractNumId.val)
    instance.add_lvlOverride(ilvl=level).add_startOverride(start)
    return instance.numId


def set_numbering(paragraph: Paragraph, num_id: int) -> None:
    """Number `paragraph` with the numbering instance `num_id`."""
    number_properties = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    number_properties.get_or_add_ilvl().val = 0
    number_properties.get_or_add_numId().val = num_id


def add_bottom_border(paragraph: Paragraph) -> None:
    """A thin line under `paragraph`: a separator that never breaks the page."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(name), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def column_widths(rows: list[list[str]], total: int) -> list[int]:
    """Widths (EMU) that share `total` between the columns according to the text they hold.

    Each column first gets room for its longest word (so "Probability" or an address is
    not broken letter by letter, up to a limit), then what is left goes to the columns
    with long text, in proportion to how much more they hold.
    """
    capacity = max(total // _CHARACTER, 1)  # characters that fit across the page
    least, wanted = [], []
    for column in zip(*rows, strict=False):
        word = max((len(w) for text in column for w in text.split()), default=1)
        least.append(math.ceil(min(word, 12) * 1.1) + 3)  # headers are bold, a tenth wider
        wanted.append(min(max(len(text) for text in column), 60) + 3)
    if sum(wanted) <= capacity:
        shares = wanted
    else:
        spare = max(capacity - sum(least), 0)
        extra = [w - m for w, m in zip(wanted, least, strict=True)]
        shares = [m + spare * e / (sum(extra) or 1) for m, e in zip(least, extra, strict=True)]
    return [int(total * share / sum(shares)) for share in shares]


def set_column_widths(table: CT_Tbl, widths: list[int]) -> None:
    """Fix each column's width (EMU)."""
    # Word reads the grid, LibreOffice the cells: both are set, in twentieths of a point.
    twips = [str(width // 635) for width in widths]
    for column, width in zip(table.tblGrid.gridCol_lst, twips, strict=False):
        column.set(qn("w:w"), width)
    for row in table.tr_lst:
        for cell, width in zip(row.tc_lst, twips, strict=False):
            cell.get_or_add_tcPr().get_or_add_tcW().set(qn("w:w"), width)


def mark_header_row(table: CT_Tbl) -> None:
    """Repeat the first row on every page and let the table style shade it (not column one)."""
    row_properties = table.tr_lst[0].get_or_add_trPr()
    row_properties.append(OxmlElement("w:tblHeader"))
    look = table.tblPr.find(qn("w:tblLook"))
    if look is not None:
        look.set(qn("w:firstColumn"), "0")
        look.set(qn("w:val"), "0420")


def add_picture(run: Run, source: str, images_dir: Path | None = None) -> None:
    """The image at `source` (a path or file: URL, relative to `images_dir`) in `run`."""
    path = Path(unquote(source.removeprefix("file://")))
    if images_dir is not None and not path.is_absolute():
        path = images_dir / path
    if not path.is_file():
        raise ValueError(f"image file not found: {path}")
    run.add_picture(str(path), width=IMAGE_WIDTH)
