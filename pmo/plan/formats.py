"""Reading a plan from a file: the YAML format, a CSV with the same columns, or Microsoft
Project XML (MSPDI: File > Save As > XML).

CSV: a header row `key,name,owner,duration_days,depends_on,budget,effort,deliverable,
start_no_earlier_than` (the YAML keys; the first four, `budget` and nothing else required),
one row per work package. A list is `;`-separated in its cell (`depends_on` "1.1;1.2"),
effort is `role=days` pairs (`analyst=20;architect=10`). Rows before the header may set the
plan's other keys, the name in the first cell: `start,2027-02-01`,
`workdays,mon;tue;wed;thu;fri`, `holidays,2027-05-31;2027-07-05`, and
`milestone,Portal live,3.2;3.3` (one row each). A malformed row is named by its line.
"""

import csv
import io
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

import yaml
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import ValidationError

from pmo.limits import PLAN_BYTES
from pmo.plan.model import Plan, PlanError, describe, parse_plan

CSV_COLUMNS = (
    "key",
    "name",
    "owner",
    "duration_days",
    "depends_on",
    "budget",
    "effort",
    "deliverable",
    "start_no_earlier_than",
)
_REQUIRED = ("key", "name", "owner", "duration_days", "budget")
_SETTINGS = ("start", "workdays", "holidays", "milestone")
MSPDI = "{http://schemas.microsoft.com/project}"
FORMATS: dict[str, Literal["yaml", "csv", "xml"]] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".csv": "csv",
    ".xml": "xml",
}


def load_plan(path: Path) -> Plan:
    """Read and validate a plan from a .yaml/.yml, .csv or .xml file (at most PLAN_BYTES)."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PlanError(str(path), "is not a plan file: use .yaml, .yml, .csv or .xml")
    try:
        size = path.stat().st_size
        if size > PLAN_BYTES:
            raise PlanError(
                str(path), f"is {size:,} bytes; a plan may be at most {PLAN_BYTES:,} bytes"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise PlanError(str(path), f"cannot be read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanError(str(path), "is not UTF-8 text") from None
    return read_plan_text(text, fmt=fmt, source=str(path))


def read_plan_text(text: str, *, fmt: Literal["yaml", "csv", "xml"], source: str) -> Plan:
    """A plan from the text of a file in format `fmt`; `source` names it in a refusal."""
    if len(text) > PLAN_BYTES:
        raise PlanError(source, f"is longer than {PLAN_BYTES:,} characters")
    if fmt == "yaml":
        return _read_yaml(text, source)
    if fmt == "csv":
        return _read_csv(text, source)
    if fmt == "xml":
        return _read_mspdi(text, source)
    raise PlanError(source, f"'{fmt}' is not a plan format (yaml, csv or xml)")


def _validated(data: dict, source: str, package: Callable[[int], str]) -> Plan:
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(source, describe(exc, package=package)) from None


def _read_yaml(text: str, source: str) -> Plan:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise PlanError(where, f"is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_plan(data, source)


# CSV ---------------------------------------------------------------------------------------


def _cells(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _number(line: str, column: str, cell: str, whole: bool) -> int | Decimal:
    try:
        value = Decimal(cell.replace(",", "").replace("_", ""))
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise PlanError(line, f"{column}: '{cell}' is not a number") from None
    if whole:
        if value != value.to_integral_value():
            raise PlanError(line, f"{column}: '{cell}' is not a whole number of days")
        if abs(value) > 10**9:
            raise PlanError(line, f"{column}: '{cell}' is too large")
        return int(value)
    return value


def _effort(line: str, cell: str) -> dict[str, Decimal]:
    effort: dict[str, Decimal] = {}
    for pair in _cells(cell):
        role, equals, days = pair.partition("=")
        if not equals or not role.strip():
            raise PlanError(line, f"effort: '{pair}' is not role=days")
        if role.strip() in effort:
            raise PlanError(line, f"effort: role '{role.strip()}' is given twice")
        effort[role.strip()] = _number(line, "effort", days.strip(), whole=False)  # type: ignore[assignment]
    return effort


def _read_csv(text: str, source: str) -> Plan:
    rows = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    settings: dict = {"milestones": []}
    packages: list[dict] = []
    lines: list[int] = []
    try:
        for row in rows:
            line = f"{source}: line {rows.line_num}"
            cells = [cell.strip() for cell in row]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue
            if header is None:
                name = cells[0].lower()
                if name == "key":
                    header = _header(line, cells)
                elif name in _SETTINGS:
                    _setting(line, name, cells[1:], settings)
                else:
                    raise PlanError(
                        line,
                        f"'{cells[0]}' is neither the header row (key,name,owner,...) nor a "
                        f"setting ({', '.join(_SETTINGS)})",
                    )
                continue
            if len(cells) > len(header):
                raise PlanError(line, f"has {len(cells)} cells; the header has {len(header)}")
            packages.append(_package(line, dict(zip(header, cells, strict=False))))
            lines.append(rows.line_num)
    except csv.Error as exc:
        raise PlanError(f"{source}: line {rows.line_num}", f"is not valid CSV: {exc}") from None
    if header is None:
        raise PlanError(source, f"has no header row ({','.join(CSV_COLUMNS)})")
    data = {key: value for key, value in settings.items() if value or key != "milestones"}
    data["work_packages"] = packages
    return _validated(data, source, lambda i: f"line {lines[i]}")


def _header(line: str, cells: list[str]) -> list[str]:
    columns = [cell.lower() for cell in cells]
    for column in columns:
        if column not in CSV_COLUMNS:
            raise PlanError(line, f"'{column}' is not a column ({', '.join(CSV_COLUMNS)})")
    missing = [column for column in _REQUIRED if column not in columns]
    if missing:
        raise PlanError(line, f"the header has no '{missing[0]}' column")
    if len(set(columns)) != len(columns):
        raise PlanError(line, "a column is named twice in the header")
    return columns


def _setting(line: str, name: str, values: list[str], settings: dict) -> None:
    if name == "milestone":
        if len(values) != 2:
            raise PlanError(line, "milestone: give its name and the keys it follows (3.2;3.3)")
        settings["milestones"].append({"name": values[0], "after": _cells(values[1])})
        return
    if len(values) != 1:
        raise PlanError(line, f"{name}: give one value")
    if name == "start":
        settings["start"] = values[0]
    else:
        settings.setdefault("calendar", {})[name] = _cells(values[0])


def _package(line: str, row: dict[str, str]) -> dict:
    package: dict = {key: value for key, value in row.items() if value}
    if "duration_days" in package:
        package["duration_days"] = _number(line, "duration_days", row["duration_days"], True)
    if "budget" in package:
        package["budget"] = _number(line, "budget", row["budget"], whole=False)
    if "depends_on" in package:
        package["depends_on"] = _cells(row["depends_on"])
    if "effort" in package:
        package["effort"] = _effort(line, row["effort"])
    return package


def plan_to_csv(plan: Plan) -> str:
    """The plan as the CSV `load_plan` reads (settings rows, header, one row a package)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if plan.start:
        writer.writerow(["start", plan.start.isoformat()])
    writer.writerow(["workdays", ";".join(plan.calendar.workdays)])
    if plan.calendar.holidays:
        writer.writerow(["holidays", ";".join(d.isoformat() for d in plan.calendar.holidays)])
    for milestone in plan.milestones:
        writer.writerow(["milestone", milestone.name, ";".join(milestone.after)])
    writer.writerow(CSV_COLUMNS)
    for p in plan.work_packages:
        writer.writerow(
            [
                p.key,
                p.name,
                p.owner,
                p.duration_days,
                ";".join(p.depends_on),
                p.budget,
                ";".join(f"{role}={days}" for role, days in p.effort.items()),
                p.deliverable or "",
                p.start_no_earlier_than.isoformat() if p.start_no_earlier_than else "",
            ]
        )
    return out.getvalue()


# Microsoft Project XML (MSPDI) ---------------------------------------------------------------

_DURATION = re.compile(r"^-?PT(\d+(?:\.\d+)?)H(\d+(?:\.\d+)?)M(\d+(?:\.\d+)?)S$")
_SNET = "4"  # ConstraintType: Start No Earlier Than
_FINISH_TO_START = "1"  # PredecessorLink Type


def _text(element: Element | None, tag: str, default: str = "") -> str:
    found = None if element is None else element.find(MSPDI + tag)
    return (found.text or "").strip() if found is not None else default


def _minutes(where: str, value: str) -> Decimal:
    match = _DURATION.match(value)
    if not match or value.startswith("-"):
        raise PlanError(where, f"'{value}' is not a duration (PT120H0M0S)")
    hours, minutes, seconds = (Decimal(group) for group in match.groups())
    return hours * 60 + minutes + seconds / 60


def _decimal(where: str, value: str) -> Decimal:
    try:
        number = Decimal(value)
        if not number.is_finite() or abs(number) > Decimal("1e17"):
            raise InvalidOperation
    except InvalidOperation:
        raise PlanError(where, f"'{value}' is not a number") from None
    return number


def _day(where: str, value: str) -> date:
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise PlanError(where, f"'{value}' is not a date") from None


def _read_mspdi(text: str, source: str) -> Plan:
    try:
        root = fromstring(text, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise PlanError(source, f"is refused: {type(exc).__name__} (no DTD or entities)") from None
    except ParseError as exc:
        raise PlanError(source, f"is not well-formed XML: {exc}") from None
    if root.tag != MSPDI + "Project":
        raise PlanError(
            source, "is not a Microsoft Project XML file (no <Project> in its namespace)"
        )
    minutes_per_day = _decimal(f"{source}: MinutesPerDay", _text(root, "MinutesPerDay") or "480")
    if minutes_per_day <= 0:
        raise PlanError(source, "MinutesPerDay: must be above zero")
    data: dict = {"calendar": _mspdi_calendar(root, source)}
    if _text(root, "StartDate"):
        data["start"] = _day(f"{source}: StartDate", _text(root, "StartDate"))

    resources = {
        _text(r, "UID"): _text(r, "Name")
        for r in root.iterfind(f"{MSPDI}Resources/{MSPDI}Resource")
        if _text(r, "Name")
    }
    emails = {
        _text(r, "UID"): _text(r, "EmailAddress")
        for r in root.iterfind(f"{MSPDI}Resources/{MSPDI}Resource")
        if _text(r, "EmailAddress")
    }
    work: dict[str, dict[str, Decimal]] = {}
    people: dict[str, list[str]] = {}
    for assignment in root.iterfind(f"{MSPDI}Assignments/{MSPDI}Assignment"):
        task, resource = _text(assignment, "TaskUID"), _text(assignment, "ResourceUID")
        if resource not in resources:
            continue  # MS Project's "unassigned" resource (UID -65535)
        where = f"{source}: Assignment {_text(assignment, 'UID')}: Work"
        days = _minutes(where, _text(assignment, "Work", "PT0H0M0S")) / minutes_per_day
        role = resources[resource]
        work.setdefault(task, {})
        work[task][role] = work[task].get(role, Decimal(0)) + days
        if resource in emails:
            people.setdefault(task, []).append(emails[resource])

    tasks = list(root.iterfind(f"{MSPDI}Tasks/{MSPDI}Task"))
    keys: dict[str, str] = {}  # UID -> WBS code of the tasks that are work packages
    marks: dict[str, list[str]] = {}  # UID -> predecessor UIDs of 0-day milestone tasks
    for task in tasks:
        uid = _text(task, "UID")
        skipped = _text(task, "Summary") == "1" or _text(task, "IsNull") == "1"
        if skipped or _text(task, "Active") == "0" or uid == "0":
            continue  # the project's own task, summaries, blank rows, inactive tasks
        links = [_text(link, "PredecessorUID") for link in task.iterfind(MSPDI + "PredecessorLink")]
        if (
            _text(task, "Milestone") == "1"
            and _minutes(f"{source}: Task {uid}: Duration", _text(task, "Duration", "PT0H0M0S"))
            == 0
        ):
            marks[uid] = links
        else:
            keys[uid] = _text(task, "WBS") or _text(task, "OutlineNumber") or uid

    def finished_by(uid: str, seen: frozenset[str] = frozenset()) -> list[str]:
        """The work packages a link to `uid` waits for: itself, or a milestone's own."""
        if uid in keys:
            return [keys[uid]]
        if uid in seen:
            return []
        return [
            key
            for before in marks[uid]
            if before in keys or before in marks
            for key in finished_by(before, seen | {uid})
        ]

    labels: list[str] = []
    packages: list[dict] = []
    milestones: list[dict] = []
    for task in tasks:
        uid = _text(task, "UID")
        if uid not in keys and uid not in marks:
            continue
        where = f"{source}: Task {uid} ({_text(task, 'Name') or 'no name'})"
        depends: list[str] = []
        for link in task.iterfind(f"{MSPDI}PredecessorLink"):
            if _text(link, "Type", _FINISH_TO_START) != _FINISH_TO_START:
                raise PlanError(
                    f"{where}: PredecessorLink", "only finish-to-start links can be planned"
                )
            if _text(link, "LinkLag", "0") not in ("", "0"):
                raise PlanError(f"{where}: PredecessorLink", "a link with a lag cannot be planned")
            predecessor = _text(link, "PredecessorUID")
            if predecessor not in keys and predecessor not in marks:
                raise PlanError(
                    f"{where}: PredecessorLink", f"'{predecessor}' is not the UID of a task"
                )
            depends += [key for key in finished_by(predecessor) if key not in depends]
        if uid in marks:
            if depends:  # a milestone that follows nothing (the project's start) marks nothing
                milestones.append({"name": _text(task, "Name"), "after": depends})
            continue
        days = _minutes(f"{where}: Duration", _text(task, "Duration", "PT0H0M0S"))
        days /= minutes_per_day
        if days != days.to_integral_value():
            raise PlanError(
                f"{where}: Duration", f"{days.normalize()} days is not a whole number of days"
            )
        package: dict = {
            "key": keys[uid],
            "name": _text(task, "Name"),
            "owner": _text(task, "Contact") or (people.get(uid) or [""])[0],
            "duration_days": int(days),
            "budget": _decimal(f"{where}: Cost", _text(task, "Cost") or "0") / 100,
        }
        if not package["owner"]:
            raise PlanError(
                f"{where}: Contact", "no owner: give the task a Contact (an email address)"
            )
        if depends:
            package["depends_on"] = depends
        if uid in work:
            package["effort"] = work[uid]
        notes = _text(task, "Notes")
        if notes:
            package["deliverable"] = notes
        if _text(task, "ConstraintType") == _SNET and _text(task, "ConstraintDate"):
            package["start_no_earlier_than"] = _day(
                f"{where}: ConstraintDate", _text(task, "ConstraintDate")
            )
        if _text(task, "Milestone") == "1":
            milestones.append({"name": package["name"], "after": [package["key"]]})
        packages.append(package)
        labels.append(where)
    data["work_packages"] = packages
    if milestones:
        data["milestones"] = milestones
    return _validated(data, source, lambda i: labels[i].removeprefix(f"{source}: "))


_DAY_TYPES = {"1": "sun", "2": "mon", "3": "tue", "4": "wed", "5": "thu", "6": "fri", "7": "sat"}


def _mspdi_calendar(root: Element, source: str) -> dict:
    """The working weekdays and holidays of the project's calendar (its CalendarUID)."""
    wanted = _text(root, "CalendarUID")
    calendars = list(root.iterfind(f"{MSPDI}Calendars/{MSPDI}Calendar"))
    chosen = next((c for c in calendars if _text(c, "UID") == wanted), None)
    if chosen is None:
        return {}
    workdays = {"mon", "tue", "wed", "thu", "fri"}
    holidays: list[date] = []

    def days_off(period: Element | None, where: str) -> None:
        first = _day(where, _text(period, "FromDate"))
        last = _day(where, _text(period, "ToDate"))
        if (last - first).days > 3660:
            raise PlanError(where, "an exception longer than ten years cannot be a holiday")
        holidays.extend(date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1))

    for weekday in chosen.iterfind(f"{MSPDI}WeekDays/{MSPDI}WeekDay"):
        kind = _text(weekday, "DayType")
        working = _text(weekday, "DayWorking") == "1"
        if kind in _DAY_TYPES:
            (workdays.add if working else workdays.discard)(_DAY_TYPES[kind])
        elif kind == "0" and not working:  # an exception, as Project 2003 wrote them
            days_off(weekday.find(MSPDI + "TimePeriod"), f"{source}: Calendars: WeekDay")
    for exception in chosen.iterfind(f"{MSPDI}Exceptions/{MSPDI}Exception"):
        if _text(exception, "DayWorking") != "1":
            days_off(exception.find(MSPDI + "TimePeriod"), f"{source}: Calendars: Exception")
    order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {
        "workdays": [d for d in order if d in workdays],
        "holidays": sorted(set(holidays)),
    }
