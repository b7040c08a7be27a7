"""The critical path method over the plan's working-day calendar.

Conventions (DESIGN.md): durations are working days; links are finish-to-start. A package
of n >= 1 days works from its start to its finish, both included, so `early_finish` is its
last working day and a successor starts on the next working day. A 0-day package (a
milestone-like package) starts and finishes on the same day: the finish day of its latest
predecessor (as Microsoft Project shows a milestone), or the project's first day when it has
none; its successors start on the next working day. `start_no_earlier_than` holds back a
package's start (a 0-day package's day) to that day's next working day. Total float is in
working days: how far a package's start can slip without moving the project finish. The
critical path is the packages with no float, in the order they start.

Internally a package occupies working-day positions [start, start + duration) counted from
the project's first working day: scheduling adds integers; only the answer becomes dates.
"""

from dataclasses import dataclass
from datetime import date

from pmo.plan.calendar import WorkCalendar
from pmo.plan.model import Plan, PlanError, WorkPackage


@dataclass(frozen=True)
class ScheduledPackage:
    package: WorkPackage
    early_start: date
    early_finish: date
    late_start: date
    late_finish: date
    total_float: int  # working days
    critical: bool
    # Working-day positions from the project's first working day: [start, end).
    early_position: int = 0
    late_position: int = 0

    @property
    def key(self) -> str:
        return self.package.key


@dataclass(frozen=True)
class Schedule:
    plan: Plan
    start: date  # the project's first working day
    finish: date  # its last working day
    duration_days: int  # working days of work: `finish` is the last (`start` when none)
    packages: dict[str, ScheduledPackage]  # in plan order
    critical_path: list[str]
    milestones: dict[str, date]  # name -> the day its last package finishes
    calendar: WorkCalendar

    def day(self, position: int) -> date:
        """The working day at `position` (0 is `start`)."""
        return self.calendar.add_workdays(self.start, position)


def network(plan: Plan) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """Each package's predecessors and successors by index, and the indexes in an order
    where each comes after everything it depends on (the plan is acyclic)."""
    index = {p.key: i for i, p in enumerate(plan.work_packages)}
    predecessors = [[index[key] for key in p.depends_on] for p in plan.work_packages]
    successors: list[list[int]] = [[] for _ in predecessors]
    for i, before in enumerate(predecessors):
        for j in before:
            successors[j].append(i)
    waiting = [len(before) for before in predecessors]
    order = [i for i, count in enumerate(waiting) if count == 0]
    for i in order:  # the list grows as packages become ready
        for j in successors[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                order.append(j)
    return predecessors, successors, order


def schedule_plan(plan: Plan, start: date | None = None) -> Schedule:
    """Early and late dates, float and the critical path of `plan`, starting on the plan's
    `start` or, when it has none, on `start` (the brief's start date)."""
    first = plan.start or start
    if first is None:
        raise PlanError("plan", "start: no start date (give the plan a start, or the brief one)")
    calendar = WorkCalendar(plan.calendar)
    try:
        return _schedule(plan, calendar, first)
    except OverflowError:
        raise PlanError("plan", "the schedule runs past the last day a date can hold") from None


def _schedule(plan: Plan, calendar: WorkCalendar, first: date) -> Schedule:
    packages = plan.work_packages
    begin = calendar.next_workday(first)
    predecessors, successors, order = network(plan)
    duration = [p.duration_days for p in packages]
    early = [0] * len(packages)
    finish = [0] * len(packages)  # early + duration: where a successor may start
    for i in order:
        at = max([finish[j] for j in predecessors[i]], default=0)
        held_back = packages[i].start_no_earlier_than
        if held_back is not None:
            held = calendar.workdays_between(begin, held_back)
            # a 0-day package sits at the end of its day: the next day's position
            at = max(at, held + (1 if duration[i] == 0 else 0))
        early[i] = at
        finish[i] = at + duration[i]
    end = max(finish, default=0)
    late = [0] * len(packages)
    for i in reversed(order):
        late[i] = min([late[j] for j in successors[i]], default=end) - duration[i]

    # Every working day of the project, once: positions become dates by indexing.
    line = calendar.workdays(begin, calendar.add_workdays(begin, end))

    def first_day(position: int, days: int) -> date:
        # a 0-day package's day is the last working day before its position
        return line[max(position - 1, 0) if days == 0 else position]

    def last_day(position: int, days: int) -> date:
        return line[max(position + days - 1, 0)]

    scheduled: dict[str, ScheduledPackage] = {}
    for i, package in enumerate(packages):
        slack = late[i] - early[i]
        scheduled[package.key] = ScheduledPackage(
            package=package,
            early_start=first_day(early[i], duration[i]),
            early_finish=last_day(early[i], duration[i]),
            late_start=first_day(late[i], duration[i]),
            late_finish=last_day(late[i], duration[i]),
            total_float=slack,
            critical=slack == 0,
            early_position=early[i],
            late_position=late[i],
        )
    critical = sorted(
        (i for i in range(len(packages)) if late[i] == early[i]),
        key=lambda i: (early[i], early[i] + duration[i], i),
    )
    milestones = {
        m.name: max(scheduled[key].early_finish for key in m.after) for m in plan.milestones
    }
    return Schedule(
        plan=plan,
        start=begin,
        finish=line[max(end - 1, 0)],
        duration_days=end,
        packages=scheduled,
        critical_path=[packages[i].key for i in critical],
        milestones=milestones,
        calendar=calendar,
    )
