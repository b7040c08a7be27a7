"""A project's lifecycle: the library's lifecycle as this project runs it.

Tailored to the project's tier, category and risk level (each change with its reason),
its repeated stages expanded from the brief's `repetitions`, and checked against the
brief (every gate role has people). The flow pins the result when the project starts;
`pmo start`, the demo and `pmo library migrate` check a brief with the same function.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from pmo.brief import ProjectBrief, load_brief
from pmo.control.analysis import rated_risks
from pmo.errors import BriefError
from process_library.loader import LoadedLifecycle, load_lifecycle
from process_library.portfolio import load_portfolio_policy
from process_library.tailoring import ProjectFacts, TailoringNote, load_categories, tailor


@dataclass(frozen=True)
class PreparedLifecycle:
    """The lifecycle as the project runs it (with the library version it comes from) and
    what tailoring changed, and why."""

    loaded: LoadedLifecycle
    tailoring: list[TailoringNote]

    @property
    def tailoring_json(self) -> list[dict]:
        return [note.model_dump(mode="json") for note in self.tailoring]


def project_facts(brief: ProjectBrief) -> ProjectFacts:
    """Tier, category and risk level: the highest rating among the brief's risks (probability
    x impact, as the charter rates them), low when it lists none."""
    risks = rated_risks(brief)
    risk = risks[0].rating.lower() if risks else "low"
    return ProjectFacts(tier=brief.tier, category=brief.category, risk=risk)  # type: ignore[arg-type]


def prepare_lifecycle(
    brief: ProjectBrief, loaded: LoadedLifecycle, source: str = "brief"
) -> PreparedLifecycle:
    """Tailor, expand and check; BriefError names the brief field a project must fix."""
    if brief.category is not None:
        known = load_categories().keys
        if brief.category not in known:
            raise BriefError(
                f"{source}: category",
                f"'{brief.category}' is not a project category (known: {', '.join(known)})",
            )
    if brief.strategic_objectives:
        known = load_portfolio_policy().objective_keys
        for index, key in enumerate(brief.strategic_objectives):
            if key not in known:
                raise BriefError(
                    f"{source}: strategic_objectives[{index}]",
                    f"'{key}' is not a strategic objective (known: {', '.join(known)})",
                )
    tailored, notes = tailor(loaded.lifecycle, project_facts(brief))
    for stage in tailored.repeated_stages:
        repeat = stage.repeat
        assert repeat is not None and repeat.for_each is not None
        items = brief.repetitions.get(repeat.for_each, [])
        if not repeat.min <= len(items) <= repeat.max:
            given = f"{len(items)} given" if items else "none given"
            raise BriefError(
                f"{source}: repetitions.{repeat.for_each}",
                f"lifecycle '{tailored.name}' runs stage '{stage.name}' once per item of "
                f"repetitions.{repeat.for_each}: give {repeat.min} to {repeat.max} "
                f"(each a name and a goal); {given}",
            )
    expanded = tailored.expanded(brief.repetitions)
    brief.check_against(expanded, source)
    return PreparedLifecycle(dataclasses.replace(loaded, lifecycle=expanded), notes)


def load_brief_for(path: Path, lifecycle: str) -> ProjectBrief:
    """A brief from a YAML file, checked against the lifecycle it is to run as that
    project would run it: everything `pmo start` and `pmo demo` can check before they
    talk to Prefect (its roles, its category, the items its repeated stages need)."""
    brief = load_brief(path)
    prepare_lifecycle(brief, load_lifecycle(lifecycle), source=str(path))
    return brief
