"""Render a template, the one way: documents to Markdown, emails to plain text.

In a document every `{{ ... }}` that prints text is Markdown-escaped, so what a person typed
into a brief comes out literally. Markdown the template builds itself and prints through
`{{ }}` (a macro call, a `{% set %}` block) must be marked with `| markdown`, or it is
escaped too.
"""

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
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
from pmo.documents.filters import FILTERS, finalize, finalize_text
from pmo.errors import TemplateProblem
from pmo.settings import get_settings

BUNDLED_TEMPLATES = Path(templates.__file__).parent
_NO_ATTRIBUTE = re.compile(r"^'[^']*' (?:object )?has no attribute '(?P<name>\w+)'$")


def render_markdown(template_name: str, context: Mapping[str, Any]) -> str:
    """The Markdown of `template_name` filled from `context`; TemplateProblem if it is broken."""
    return _render(template_name, context, markdown=True)


def render_text(template_name: str, context: Mapping[str, Any]) -> str:
    """A plain-text template (an email body) filled from `context`, nothing escaped."""
    return _render(template_name, context, markdown=False)


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


def _render(template_name: str, context: Mapping[str, Any], *, markdown: bool) -> str:
    environment = _environment(get_settings().templates_dir, markdown)
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
def _environment(override: Path | None, markdown: bool) -> SandboxedEnvironment:
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
        autoescape=False,
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
