"""Stakeholder engagement and the communication plan, derived from the brief and the policy.

The policy (`process_library/communication.yaml`) says how each power/interest quadrant is
engaged and what its people receive; the lifecycle says which gates each approver decides.
Nothing here is invented: every line traces to one of the two and the brief.
"""

from dataclasses import dataclass

from pmo.brief import ProjectBrief, Stakeholder
from process_library.communication import (
    CommunicationPolicy,
    Quadrant,
    load_communication_policy,
)
from process_library.schema import Lifecycle


@dataclass(frozen=True)
class EngagedStakeholder:
    """A stakeholder, numbered as on the power/interest grid, with their quadrant."""

    number: int
    person: Stakeholder
    quadrant: Quadrant


@dataclass(frozen=True)
class CommunicationLine:
    """Who gets what, how often, through which channel, and why (their quadrant or role)."""

    audience: str
    email: str
    basis: str
    what: str
    frequency: str
    channel: str


def engaged_stakeholders(
    brief: ProjectBrief, policy: CommunicationPolicy | None = None
) -> list[EngagedStakeholder]:
    policy = policy or load_communication_policy()
    return [
        EngagedStakeholder(number, s, policy.quadrant(s.influence, s.interest))
        for number, s in enumerate(brief.stakeholders, start=1)
    ]


def communication_plan(
    brief: ProjectBrief, lifecycle: Lifecycle, policy: CommunicationPolicy | None = None
) -> list[CommunicationLine]:
    """One line per stakeholder message of their quadrant, then each approver's gate packs."""
    policy = policy or load_communication_policy()
    lines = [
        CommunicationLine(
            audience=engaged.person.name,
            email=engaged.person.email,
            basis=f"{engaged.quadrant.name} ({engaged.person.role})",
            what=message.what,
            frequency=message.frequency,
            channel=message.channel,
        )
        for engaged in engaged_stakeholders(brief, policy)
        for message in engaged.quadrant.messages
    ]
    names = {p.email: p.name for p in (brief.sponsor, brief.project_manager, *brief.stakeholders)}
    gates_by_approver: dict[str, tuple[list[str], list[str]]] = {}
    for stage in lifecycle.stages:
        for role in stage.gate.approvers:
            for email in brief.approvers.get(role, []):
                roles, gates = gates_by_approver.setdefault(email, ([], []))
                if role not in roles:
                    roles.append(role)
                if stage.gate.name not in gates:
                    gates.append(stage.gate.name)
    lines += [
        CommunicationLine(
            audience=names.get(email, email),
            email=email,
            basis=f"Gate approver ({', '.join(roles)})",
            what=policy.gate_message.what,
            frequency=f"At each of their gates: {', '.join(gates)}",
            channel=policy.gate_message.channel,
        )
        for email, (roles, gates) in gates_by_approver.items()
    ]
    return lines
