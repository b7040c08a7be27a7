"""Build `templates/reference.docx`, the bundled Word styles every document uses.

Run `python templates/make_reference_docx.py` after changing it and commit both files.
A PMO with a corporate look points `PMO_REFERENCE_DOCX` at its own file instead; it
should define the same style names (see `STYLES_USED`).
"""

from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_UNDERLINE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import BaseStyle, CharacterStyle

FONT = "Calibri"
MONO = "Consolas"
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
NAVY = RGBColor(0x1F, 0x3A, 0x5F)
GREY = RGBColor(0x59, 0x59, 0x59)
HEADER_FILL = "DCE3EC"
HEADING_SIZES = {
    "Title": 22,
    "Heading 1": 16,
    "Heading 2": 13,
    "Heading 3": 11.5,
    "Heading 4": 10.5,
}

# Every style name pmo.documents asks for; the converter falls back to Normal if one is
# missing, so a PMO's reference file stays usable but loses that look.
STYLES_USED = (
    *HEADING_SIZES,
    "Normal",
    "Quote",
    "Caption",
    "Header",
    "Code",
    "Hyperlink",
    "Table Grid",
    *(
        f"List {kind}{suffix}"
        for kind in ("Bullet", "Number", "Continue")
        for suffix in ("", " 2", " 3")
    ),
)


def set_font(style: CharacterStyle, name: str, size: float | None = None) -> None:
    """Set a style's font for Latin and complex scripts (Arabic, Hebrew) alike."""
    style.font.name = name
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:cs"), name)
    # Headings in the stock template use theme fonts, which override an explicit name.
    for theme_attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme_attribute), None)
    if size is not None:
        style.font.size = Pt(size)


def shade_header_row(table_style: BaseStyle) -> None:
    """Give the first row of tables in this style a light fill, via conditional formatting."""
    condition = OxmlElement("w:tblStylePr")
    condition.set(qn("w:type"), "firstRow")
    cell_properties = OxmlElement("w:tcPr")
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), HEADER_FILL)
    cell_properties.append(shading)
    condition.append(cell_properties)
    table_style.element.append(condition)


def drop_stock_parts(document: DocumentObject) -> None:
    """Remove python-docx's preview picture and its stale copy of the styles (Word 2010's)."""
    for rels in (document.part.package.rels, document.part.rels):
        for relationship_id, relationship in list(rels.items()):
            if relationship.reltype in (RELATIONSHIP_TYPE.THUMBNAIL, STYLES_WITH_EFFECTS):
                del rels[relationship_id]


def drop_unused_table_styles(document: DocumentObject) -> None:
    """Keep only the table styles pmo-flows uses."""
    # The stock hundred are 90% of styles.xml, which every conversion parses: 5 ms of 20.
    for style in list(document.styles):
        if style.type == WD_STYLE_TYPE.TABLE and style.name not in ("Normal Table", "Table Grid"):
            style.element.getparent().remove(style.element)


def build(path: Path) -> None:
    """Write the reference document to `path`."""
    document = Document()
    styles = document.styles
    document.core_properties.author = "pmo-flows"
    document.core_properties.title = "pmo-flows reference styles"
    drop_stock_parts(document)
    drop_unused_table_styles(document)

    for section in document.sections:
        section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4
        for side in ("top_margin", "bottom_margin", "left_margin", "right_margin"):
            setattr(section, side, Cm(2))
        section.header_distance = section.footer_distance = Cm(1)

    set_font(styles["Normal"], FONT, 10.5)
    for name, size in HEADING_SIZES.items():
        set_font(styles[name], FONT, size)
        styles[name].font.color.rgb = NAVY
    set_font(styles["Header"], FONT, 8)
    styles["Header"].font.color.rgb = GREY
    set_font(styles["Caption"], FONT, 9)
    styles["Caption"].font.color.rgb = GREY

    if "Code" not in styles:
        code = styles.add_style("Code", WD_STYLE_TYPE.PARAGRAPH)
        code.base_style = styles["No Spacing"]
        set_font(code, MONO, 9)
    if "Hyperlink" not in styles:
        link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
        link.font.color.rgb = RGBColor(0x1F, 0x4E, 0x9A)
        link.font.underline = WD_UNDERLINE.SINGLE
    shade_header_row(styles["Table Grid"])

    missing = [name for name in STYLES_USED if name not in styles]
    if missing:
        raise SystemExit(f"reference.docx would lack styles: {', '.join(missing)}")
    document.save(str(path))


if __name__ == "__main__":
    build(Path(__file__).with_name("reference.docx"))
