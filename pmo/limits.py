"""The most a person may put into each kind of field: every limit on input, in one place.

A brief, a gate answer and a status update declare their text fields with these types and
their lists with these sizes, so a field added later gets its limit by picking its type
(`tests/test_limits.py` fails on a brief field without one). Each limit is far above what
a real project needs and far below what would bloat a document, a mail, the store or a
Prefect form. A value over its limit is refused with one line naming the field.
"""

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from pmo.errors import PmoInputError
from process_library.schema import checked_email

BRIEF_BYTES = 1_000_000  # a brief file; the bundled example is 4 kB
PLAN_BYTES = 20_000_000  # a plan file (YAML, CSV, Microsoft Project XML): 5,000 packages fit
NAME_CHARS = 200  # a name, a role, a title
EMAIL_CHARS = 254  # an email address (RFC 5321's most)
LINE_CHARS = 1_000  # one item of a list: an objective, a scope item, a risk
TEXT_CHARS = 10_000  # a paragraph: the purpose, a comment, conditions, commentary

LIST_ITEMS = 100  # objectives, scope, requirements, assumptions, constraints, issues
REGISTER_ROWS = 500  # stakeholders, risks, dependencies
APPROVER_ROLES = 50  # gate roles a brief maps to people
APPROVERS_PER_ROLE = 50  # people named for one gate role
REPETITION_LISTS = 20  # lists a brief gives repeated stages (releases, management stages)

# Required text (never blank) and optional text (may be empty), stripped of outer spaces.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_CHARS)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LINE_CHARS)]
Paragraph = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_CHARS)
]
OptionalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=LINE_CHARS)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_CHARS)]
# An email address as every part of pmo-flows takes it: checked, lower case.
Address = Annotated[str, StringConstraints(max_length=EMAIL_CHARS), AfterValidator(checked_email)]


def check_length(where: str, text: str, most: int) -> str:
    """`text` when it is at most `most` characters long, else a refusal naming `where`;
    for values that do not come through a model (command-line options)."""
    if len(text) > most:
        raise PmoInputError(where, f"is {len(text):,} characters long; at most {most:,} are taken")
    if "\x00" in text:  # no database text column takes it (PostgreSQL refuses it outright)
        raise PmoInputError(where, "contains a NUL character, which no text may hold")
    return text


def check_count(where: str, items: list | tuple, most: int) -> None:
    """Refuse a list of more than `most` items, naming `where`."""
    if len(items) > most:
        raise PmoInputError(where, f"has {len(items):,} items; at most {most:,} are taken")
