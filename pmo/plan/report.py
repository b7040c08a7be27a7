"""The schedule (and earned value) as DESIGN.md's JSON, for `pmo plan check --json`,
`pmo status --json` and the documents."""

from pmo.plan.evm import EarnedValue
from pmo.plan.schedule import Schedule


def _amount(value) -> float:
    return float(value)


def schedule_json(schedule: Schedule, evm: EarnedValue | None = None) -> dict:
    """`finish`, `duration_days`, `critical_path`, `work_packages` (each `key`,
    `early_start`, `early_finish`, `late_start`, `late_finish`, `total_float`), `milestones`,
    `budget`, and `evm` when given. Dates are ISO text."""
    data: dict = {
        "start": schedule.start.isoformat(),
        "finish": schedule.finish.isoformat(),
        "duration_days": schedule.duration_days,
        "critical_path": list(schedule.critical_path),
        "work_packages": [
            {
                "key": p.key,
                "name": p.package.name,
                "early_start": p.early_start.isoformat(),
                "early_finish": p.early_finish.isoformat(),
                "late_start": p.late_start.isoformat(),
                "late_finish": p.late_finish.isoformat(),
                "total_float": p.total_float,
                "critical": p.critical,
                "budget": _amount(p.package.budget),
            }
            for p in schedule.packages.values()
        ],
        "milestones": [
            {"name": name, "date": day.isoformat()} for name, day in schedule.milestones.items()
        ],
        "budget": _amount(schedule.plan.budget()),
    }
    if evm is not None:
        data["evm"] = evm.as_json()
    return data
