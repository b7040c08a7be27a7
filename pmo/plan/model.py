"""The plan a project manager proposes at planning: work packages, calendar, milestones.

Its YAML keys are a public format (DESIGN.md, "The plan"); the same model validates a
brief's `plan:`, a CSV, a Microsoft Project file and the Prefect form.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from pmo.errors import PmoInputError
from pmo.limits import LIST_ITEMS, Address, Line, Name

WORK_PACKAGES = 20_000  # far above a real plan (a large programme has a few thousand)
HOLIDAYS = 2_000
DEPENDENCIES = 1_000  # predecessors of one work package
ROLES = 100  # roles in one package's effort
LONGEST_DAYS = 100_000  # working days of one package: some four centuries

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Key = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^\S+$")
]
MOST_MONEY = Decimal(10**15)  # a budget or a cost: far above any project's
# Money to the cent and days to the hundredth: what a plan means, and what keeps every
# figure derived from them (EAC = BAC x AC / EV) within a number's reach.
Money = Annotated[Decimal, Field(ge=0, le=MOST_MONEY, decimal_places=2, allow_inf_nan=False)]
Days = Annotated[Decimal, Field(ge=0, le=LONGEST_DAYS, decimal_places=2, allow_inf_nan=False)]


class PlanError(PmoInputError):
    """A plan is malformed: one line, `<source>: <field path>: <what>`."""


def canonical(amount: Decimal) -> Decimal:
    """One spelling per amount (30000, 30000.0 and 3E+4 are the same budget), so a plan's
    hash and its YAML do not depend on how a file wrote its numbers."""
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Calendar(_Part):
    """The working days: which weekdays are worked, and the holidays."""

    workdays: list[Weekday] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"],
        max_length=7,
        description="Weekdays that are worked (mon ... sun).",
    )
    holidays: list[date] = Field(
        default_factory=list, max_length=HOLIDAYS, description="Days not worked."
    )

    @field_validator("workdays")
    @classmethod
    def _some_workdays(cls, days: list[Weekday]) -> list[Weekday]:
        if not days:
            raise ValueError("at least one weekday must be worked")
        return sorted(set(days), key=WEEKDAYS.index)

    @field_validator("holidays")
    @classmethod
    def _sorted_holidays(cls, days: list[date]) -> list[date]:
        return sorted(set(days))


class WorkPackage(_Part):
    """One work package: a WBS element with its owner, duration, cost and effort."""

    key: Key = Field(description='WBS code, unique in the plan (e.g. "1.1").')
    name: Name = Field(description="What the work package is.")
    owner: Address = Field(description="Email of the person accountable for it.")
    duration_days: int = Field(ge=0, le=LONGEST_DAYS, description="Duration in working days.")
    depends_on: list[Key] = Field(
        default_factory=list,
        max_length=DEPENDENCIES,
        description="Keys that must finish before it starts (finish-to-start).",
    )
    budget: Money = Field(description="Its budget (the plan's currency).")
    effort: dict[Name, Days] = Field(
        default_factory=dict, max_length=ROLES, description="Person-days by role."
    )
    deliverable: Line | None = Field(default=None, description="The scope item it delivers.")
    start_no_earlier_than: date | None = Field(
        default=None, description="It may not start before this day."
    )

    @field_validator("budget")
    @classmethod
    def _canonical_budget(cls, amount: Decimal) -> Decimal:
        return canonical(amount)

    @field_validator("effort")
    @classmethod
    def _canonical_effort(cls, effort: dict[str, Decimal]) -> dict[str, Decimal]:
        return {role: canonical(days) for role, days in effort.items()}

    @field_validator("depends_on")
    @classmethod
    def _each_dependency_once(cls, keys: list[str]) -> list[str]:
        return list(dict.fromkeys(keys))


class Milestone(_Part):
    """A named point reached when all the packages it follows are finished."""

    name: Name = Field(description="What is reached (e.g. Portal live).")
    after: list[Key] = Field(
        min_length=1, max_length=DEPENDENCIES, description="Keys of the packages it follows."
    )


class Plan(_Part):
    """A project's plan: the work packages, their calendar, and the milestones."""

    start: date | None = Field(
        default=None, description="First day of the plan; default: the brief's start_date."
    )
    calendar: Calendar = Field(default_factory=Calendar, description="The working days.")
    work_packages: list[WorkPackage] = Field(
        min_length=1, max_length=WORK_PACKAGES, description="The work breakdown."
    )
    milestones: list[Milestone] = Field(default_factory=list, max_length=LIST_ITEMS)

    @model_validator(mode="after")
    def _consistent(self) -> "Plan":
        index: dict[str, int] = {}
        for i, package in enumerate(self.work_packages):
            if package.key in index:
                raise ValueError(f"work_packages[{i}].key: '{package.key}' is used twice")
            index[package.key] = i
        for i, package in enumerate(self.work_packages):
            for j, key in enumerate(package.depends_on):
                if key not in index:
                    raise ValueError(
                        f"work_packages[{i}].depends_on[{j}]: '{key}' is not a work package key"
                    )
                if key == package.key:
                    raise ValueError(
                        f"work_packages[{i}].depends_on[{j}]: '{key}' cannot depend on itself"
                    )
        names: set[str] = set()
        for i, milestone in enumerate(self.milestones):
            if milestone.name in names:
                raise ValueError(f"milestones[{i}].name: '{milestone.name}' is used twice")
            names.add(milestone.name)
            for j, key in enumerate(milestone.after):
                if key not in index:
                    raise ValueError(
                        f"milestones[{i}].after[{j}]: '{key}' is not a work package key"
                    )
        cycle = find_cycle(self.work_packages)
        if cycle:
            raise ValueError(f"work_packages: dependency cycle {' -> '.join(cycle)}")
        return self

    def budget(self) -> Decimal:
        """The budget at completion: the sum of the work packages' budgets."""
        return canonical(sum((p.budget for p in self.work_packages), Decimal(0)))

    def data(self) -> dict:
        """The plan as plain data in its public format (dates as ISO text, amounts as
        numbers), leaving out optional keys that are not set."""
        data = self.model_dump(mode="json", exclude_none=True)
        for package, raw in zip(data["work_packages"], self.work_packages, strict=True):
            package["budget"] = _number(raw.budget)
            package["effort"] = {role: _number(d) for role, d in raw.effort.items()}
        return data

    def content_hash(self) -> str:
        """sha256 of the plan's canonical JSON (sorted keys): the same plan, however it
        was written, has the same hash."""
        data = self.data()
        # what a package waits for is a set: the order it was written in is not the plan
        for package in data["work_packages"]:
            package["depends_on"] = sorted(package["depends_on"])
        for milestone in data["milestones"]:
            milestone["after"] = sorted(milestone["after"])
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_yaml(self) -> str:
        """The plan in its public YAML format; `parse_plan(yaml.safe_load(...))` gives it back."""
        data = self.data()
        if "start" in data:
            data["start"] = self.start
        data["calendar"]["holidays"] = list(self.calendar.holidays)
        for package, raw in zip(data["work_packages"], self.work_packages, strict=True):
            if raw.start_no_earlier_than:
                package["start_no_earlier_than"] = raw.start_no_earlier_than
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _number(amount: Decimal) -> int | float | str:
    """An amount as a YAML/JSON number, or as text when a float would change it."""
    if amount == amount.to_integral_value():
        return int(amount)
    as_float = float(amount)
    return as_float if Decimal(repr(as_float)) == amount else str(amount)


def find_cycle(packages: list[WorkPackage]) -> list[str]:
    """A dependency cycle as keys (`1.1 -> 1.2 -> 1.1`), or [] when the network has none."""
    successors: dict[str, list[str]] = {p.key: [] for p in packages}
    for package in packages:
        for key in package.depends_on:
            if key in successors:
                successors[key].append(package.key)
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(successors, white)
    for root in successors:
        if colour[root] != white:
            continue
        # Iterative depth-first search: a plan may be thousands of packages deep.
        path = [root]
        stack = [iter(successors[root])]
        colour[root] = grey
        while stack:
            following = next(stack[-1], None)
            if following is None:
                colour[path.pop()] = black
                stack.pop()
            elif colour[following] == grey:
                return [*path[path.index(following) :], following]
            elif colour[following] == white:
                colour[following] = grey
                path.append(following)
                stack.append(iter(successors[following]))
    return []


def describe(
    exc: ValidationError, prefix: str = "", package: Callable[[int], str] | None = None
) -> str:
    """The first problem in pydantic's report as `<field path>: <what>`, list items by
    their position (`work_packages[2].owner`); `prefix` names where the plan sits, and
    `package(i)`, when given, names work package i the way its file does (`line 4`)."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error" and message.startswith(("work_packages", "milestones")):
        # A check of the whole plan names its own field: `work_packages[3].key: ...`.
        field, _, message = message.partition(": ")
        loc += [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", field) if p]
    if (
        package is not None
        and len(loc) >= 2
        and loc[0] == "work_packages"
        and (isinstance(loc[1], int))
    ):
        rest = _path(loc[2:], "")
        return (
            f"{package(loc[1])}: {rest}: {message}" if rest else (f"{package(loc[1])}: {message}")
        )
    path = _path(loc, prefix)
    return f"{path}: {message}" if path else message


def _path(loc: list, prefix: str) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def parse_plan(data: object, source: str = "plan") -> Plan:
    """Validate plan data; a problem is one line naming the source and the field."""
    if isinstance(data, Plan):
        return data
    if not isinstance(data, dict):
        raise PlanError(source, "must be a mapping of plan fields (start, work_packages, ...)")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(source, describe(exc)) from None
