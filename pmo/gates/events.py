"""Gate events for the rest of the organisation: Prefect automations hang on these."""

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from pmo.gates.answers import Recorded
from pmo.gates.rules import GateSite
from pmo.store.models import GateDecision


def emit_gate_event(name: str, site: GateSite, *, once_key: str, payload: dict[str, Any]) -> None:
    """Emit `pmo.gate.<name>` about this gate through Prefect's events client."""
    from prefect.events import emit_event  # here: the CLI posts its events without Prefect

    emit_event(**gate_event(name, site, once_key=once_key, payload=payload))


def gate_event(
    name: str, site: GateSite, *, once_key: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """`pmo.gate.<name>` about this gate, with the project as a related resource: the
    keyword arguments of Prefect's `emit_event`.

    The event id is derived from `once_key`, so a flow replayed after a resume sends the
    same event again under the same id, which Prefect stores once.
    """
    return dict(
        event=f"pmo.gate.{name}",
        resource={
            "prefect.resource.id": f"pmo.gate.{site.project_key}.{site.stage_key}.{site.attempt}",
            "prefect.resource.name": site.gate_name,
            "pmo.gate.key": site.gate_key,
        },
        related=[
            {
                "prefect.resource.id": f"pmo.project.{site.project_key}",
                "prefect.resource.role": "project",
                "prefect.resource.name": site.project_name,
            }
        ],
        payload={"project": site.project_key, "stage": site.stage_key, **payload},
        id=uuid5(NAMESPACE_URL, f"pmo:{name}:{once_key}"),
    )


def answer_payload(row: GateDecision, round: int) -> dict[str, Any]:
    """What an answered/refused event tells: who, what, and the comment or the refusal."""
    payload = {"approver": row.approver_email, "decision": row.decision, "round": round}
    if row.accepted:
        return {**payload, "comment": row.comment, "conditions": row.conditions}
    return {**payload, "reason": row.refusal_reason, "refusal": row.refusal_kind}


def announce_answer(
    site: GateSite,
    recorded: Recorded,
    *,
    payload: dict[str, Any],
    locked_at: datetime | None,
    once_key: str,
) -> None:
    """Emit `answer_events` through Prefect's events client."""
    from prefect.events import emit_event

    for event in answer_events(
        site, recorded, payload=payload, locked_at=locked_at, once_key=once_key
    ):
        emit_event(**event)


def answer_events(
    site: GateSite,
    recorded: Recorded,
    *,
    payload: dict[str, Any],
    locked_at: datetime | None,
    once_key: str,
) -> list[dict[str, Any]]:
    """`pmo.gate.answered` or `.refused` for a recorded answer, and `.locked` when its
    wrong code locked the gate."""
    events = [
        gate_event(
            "answered" if recorded.accepted else "refused",
            site,
            once_key=f"{site.once_key}/{once_key}",
            payload=payload,
        )
    ]
    if locked_at is not None and recorded.refusal and recorded.refusal.kind == "wrong-code":
        events.append(
            gate_event(
                "locked", site, once_key=f"{site.once_key}/{locked_at.isoformat()}", payload={}
            )
        )
    return events
