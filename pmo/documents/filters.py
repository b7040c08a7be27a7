"""Markdown escaping and the filters a document template may use."""

import re
from collections.abc import Sized
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

NOT_RECORDED = "Not recorded"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Characters that mean something to Markdown wherever they stand (emphasis, code, links,
# HTML, entities, table cells, headings, strikethrough); escaping them is always harmless.
_SPECIAL = re.compile(r"[\\`*_\[\]<>#|~&]")
_LINE_BREAK = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]+\s*")
# These only matter at the start of a line, where they open a list or a setext heading.
_ORDERED_MARKER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_LINE_START = ("-", "+", "=")


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
