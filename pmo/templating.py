"""Render a template, the one way: documents to Markdown, emails to plain text, the
approvers' pages to HTML (every `{{ }}` HTML-escaped); and the filters a template may use.

In a document every `{{ ... }}` that prints text is Markdown-escaped, so what a person typed
into a brief comes out literally. Markdown the template builds itself and prints through
`{{ }}` (a macro call, a `{% set %}` block) must be marked with `| markdown`, or it is
escaped too.
"""

import re
from collections.abc import Mapping, Sized
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.sandbox import SandboxedEnvironment

import templates
from pmo.errors import TemplateProblem
from pmo.settings import get_settings

BUNDLED_TEMPLATES = Path(templates.__file__).parent
_NO_ATTRIBUTE = re.compile(r"^'[^']*' (?:object )?has no attribute '(?P<name>\w+)'$")
NOT_RECORDED = "Not recorded"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Characters that mean something to Markdown wherever they stand (emphasis, code, links,
# HTML, entities, table cells, headings, strikethrough); escaping them is always harmless.
_SPECIAL = re.compile(r"[\\`*_\[\]<>#|~&]")
_LINE_BREAK = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]+\s*")
# These only matter at the start of a line, where they open a list or a setext heading.
_ORDERED_MARKER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_LINE_START = ("-", "+", "=")


def render_markdown(template_name: str, context: Mapping[str, Any]) -> str:
    """The Markdown of `template_name` filled from `context`; TemplateProblem if it is broken."""
    return _render(template_name, context, markdown=True)


def render_text(template_name: str, context: Mapping[str, Any]) -> str:
    """A plain-text template (an email body) filled from `context`, nothing escaped."""
    return _render(template_name, context, markdown=False)


def render_html(template_name: str, context: Mapping[str, Any]) -> str:
    """An HTML page (`templates/web/...`) filled from `context`; every printed value is
    HTML-escaped (autoescape), so text a person typed shows literally."""
    return _render(template_name, context, markdown=False, html=True)


def check_template(template_name: str) -> Path:
    """Compile a document template (the PMO's own or the bundled one) without rendering it;
    return its file. A syntax error or a missing template is a TemplateProblem."""
    environment = _environment(get_settings().templates_dir, True)
    try:
        return Path(environment.get_template(template_name).filename or template_name)
    except TemplateSyntaxError as error:
        where = f"{_shown(error.filename or error.name or template_name)}:{error.lineno}"
        raise TemplateProblem(where, _one_line(error.message or str(error))) from error
    except TemplateNotFound as error:
        raise TemplateProblem(template_name, _problem(error, None)) from error


def _render(
    template_name: str, context: Mapping[str, Any], *, markdown: bool, html: bool = False
) -> str:
    environment = _environment(get_settings().templates_dir, markdown, html)
    try:
        return environment.get_template(template_name).render(context)
    except TemplateSyntaxError as error:
        where = f"{_shown(error.filename or error.name or template_name)}:{error.lineno}"
        raise TemplateProblem(where, _one_line(error.message or str(error))) from error
    except (TemplateError, ValueError, TypeError) as error:
        location = _template_frame(error.__traceback__)
        if location is None and not isinstance(error, TemplateError):
            raise  # not raised by template code: our bug, keep the traceback
        problem = _problem(error, location)
        if location is None:
            raise TemplateProblem(template_name, problem) from error
        raise TemplateProblem(f"{_shown(location[0])}:{location[1]}", problem) from error


@lru_cache(maxsize=8)
def _environment(override: Path | None, markdown: bool, html: bool = False) -> SandboxedEnvironment:
    loaders: list[BaseLoader] = []
    if override is not None:
        folder = override.expanduser()
        if not folder.is_dir():
            raise TemplateProblem("PMO_TEMPLATES_DIR", f"{folder} is not a folder")
        loaders.append(FileSystemLoader(folder))
    loaders.append(FileSystemLoader(BUNDLED_TEMPLATES))
    environment = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=html,
        finalize=finalize if markdown else finalize_text,
    )
    environment.filters.update(FILTERS)
    return environment


def _template_frame(traceback: TracebackType | None) -> tuple[str, int] | None:
    """File and line of the innermost template code in a traceback Jinja has rewritten."""
    found = None
    while traceback is not None:
        # Jinja replaces each template frame with one that raises `__jinja_exception__`.
        if "__jinja_exception__" in traceback.tb_frame.f_globals:
            found = (traceback.tb_frame.f_code.co_filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _problem(error: Exception, location: tuple[str, int] | None) -> str:
    if isinstance(error, TemplateNotFound):
        return f"there is no template named {error.name!r}"
    problem = _one_line(str(error))
    attribute = _NO_ATTRIBUTE.match(problem)
    if attribute and location is not None:
        owner = _owner_in_source(location, attribute["name"])
        if owner:
            return f"{owner!r} has no attribute {attribute['name']!r}"
    return problem


def _owner_in_source(location: tuple[str, int], attribute: str) -> str | None:
    """The expression before `.attribute` on the failing line, to name it for a person."""
    try:
        line = Path(location[0]).read_text(encoding="utf-8").splitlines()[location[1] - 1]
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    match = re.search(rf"([A-Za-z_][\w.]*)\.{attribute}\b", line) or re.search(
        rf"([A-Za-z_][\w.]*)\[['\"]{attribute}['\"]\]", line
    )
    return match.group(1) if match else None


def _shown(filename: str) -> str:
    """`templates/charter.md.j2` for a bundled template, the full path for a PMO's own."""
    path = Path(filename)
    if path.is_relative_to(BUNDLED_TEMPLATES):
        return f"templates/{path.relative_to(BUNDLED_TEMPLATES).as_posix()}"
    return filename


def _one_line(text: str) -> str:
    return " ".join(text.split())


# The filters: Markdown escaping and formatting a template may use.


class MarkdownText(str):
    """Markdown the template built itself; printed as is, never escaped again."""

    __slots__ = ()


def escape_markdown(text: str) -> str:
    """The Markdown that shows `text` literally, on one line (safe inside a table cell)."""
    text = _SPECIAL.sub(r"\\\g<0>", _LINE_BREAK.sub(" ", text).strip())
    if text.startswith(_LINE_START):
        text = "\\" + text
    return _ORDERED_MARKER.sub(r"\1\\\2", text)


def finalize(value: Any) -> Any:
    """Jinja's last step for every `{{ ... }}`: typed text is escaped, our own Markdown is not."""
    if isinstance(value, MarkdownText):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal | date | time):
        return value
    return escape_markdown(value if isinstance(value, str) else str(value))


def finalize_text(value: Any) -> Any:
    """The same last step for a plain-text template (an email): only None prints as nothing."""
    return "" if value is None else value


def markdown(value: Any) -> MarkdownText | None:
    """Mark Markdown built by the template (a macro call, a `{% set %}` block) as safe."""
    if value is None or isinstance(value, MarkdownText):
        return value
    return MarkdownText(value)


def paragraphs(value: Any) -> MarkdownText | None:
    """Typed multi-line text as escaped paragraphs, keeping its line breaks."""
    if value is None:
        return None
    text = str(value)
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    rendered = (
        "\\\n".join(escape_markdown(line) for line in block.split("\n") if line.strip())
        for block in blocks
    )
    return MarkdownText("\n\n".join(block for block in rendered if block))


def or_unknown(value: Any, text: str = NOT_RECORDED) -> Any:
    """`value`, or `text` when nothing was recorded (None, blank text, empty list)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return text
    if isinstance(value, Sized) and len(value) == 0:
        return text
    return value


def money(amount: Any, currency: str) -> str | None:
    """`USD 250,000` (two decimals only when there are cents); None stays None."""
    if amount is None:
        return None
    try:
        number = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not an amount of money") from None
    if isinstance(amount, bool) or not number.is_finite():
        raise ValueError(f"{amount!r} is not an amount of money")
    if not currency or not str(currency).strip():
        raise ValueError(f"no currency given for the amount {amount!r}")
    if number == number.to_integral_value():
        text = f"{number.quantize(Decimal(1), ROUND_HALF_UP):,}"
    else:
        text = f"{number.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    return f"{str(currency).strip()} {text}"


def _as_datetime(value: Any, what: str) -> datetime | date:
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not {what}") from None
    if isinstance(parsed, datetime) and parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return parsed


def format_date(value: Any) -> str | None:
    """`1 Feb 2027` from a date, a datetime (shown in UTC) or an ISO string; None stays None."""
    if value is None:
        return None
    day = _as_datetime(value, "a date")
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_datetime(value: Any) -> str | None:
    """`2027-02-01 14:03 UTC`; a datetime without a time zone is taken to be UTC already."""
    if value is None:
        return None
    moment = _as_datetime(value, "a date and time")
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time())
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def basename(path: Any) -> str | None:
    """The file name at the end of a path (`charter-v2.docx`); None stays None."""
    return None if path is None else PurePath(str(path)).name


FILTERS = {
    "basename": basename,
    "markdown": markdown,
    "paragraphs": paragraphs,
    "or_unknown": or_unknown,
    "money": money,
    "date": format_date,
    "datetime": format_datetime,
}
