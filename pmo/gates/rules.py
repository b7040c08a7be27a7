"""The rules of a gate, free of Prefect: who may answer, with which code, and what the
answers add up to. Both the flow and `pmo approve` apply these same rules.
"""

import dataclasses
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pmo.brief import ProjectBrief
from pmo.control.updates import check_tolerance_text
from process_library.schema import Decision, ExceptionGate, Gate

# Crockford's base32 without I, L, O, U: nothing an approver can misread when typing.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 12 x 5 bits = 60 bits of entropy
# A personal link's token: 32 random bytes (256 bits), URL-safe; only its sha256 is stored.
LINK_TOKEN_BYTES = 32
# Wrong codes a gate takes before it locks: enough for typos, far too few to guess 60 bits.
WRONG_CODES_BEFORE_LOCK = 5


@dataclass(frozen=True)
class GateSite:
    """Where a gate stands: which project, stage attempt and gate row."""

    gate_id: int
    project_key: str
    project_name: str
    stage_key: str
    attempt: int
    gate_key: str
    gate_name: str

    @property
    def once_key(self) -> str:
        return f"{self.project_key}/{self.stage_key}/{self.attempt}/{self.gate_key}"


@dataclass(frozen=True)
class Answer:
    """What an approver submitted at a gate."""

    approver: str
    decision: str
    code: str
    comment: str = ""
    conditions: str = ""
    # Each should-meet criterion's score, 0 to 10, and a yes or no for each must-meet
    # criterion no evidence settles (`Gate.scored`, `Gate.judged`), by criterion key.
    scores: dict[str, int] = dataclasses.field(default_factory=dict)
    checks: dict[str, bool] = dataclasses.field(default_factory=dict)

    def as_run_input(self) -> dict[str, object]:
        """The answer as the gate's Resume form submits it: a field per score."""
        given: dict[str, object] = {
            "approver": self.approver,
            "decision": self.decision,
            "code": self.code,
            "comment": self.comment,
            "conditions": self.conditions,
        }
        given |= {form_field("score", key): score for key, score in self.scores.items()}
        given |= {
            form_field("meets", key): "yes" if met else "no" for key, met in self.checks.items()
        }
        return given


def form_field(kind: str, criterion_key: str) -> str:
    """The Resume form's field of a criterion's score or yes/no: `score_strategic_fit`."""
    return f"{kind}_{criterion_key.replace('-', '_')}"


@dataclass(frozen=True)
class Refusal:
    """Why an answer cannot count: a stable `kind` for the record and audits, and a
    message for the person who answered."""

    kind: str
    message: str


def new_code() -> str:
    """A fresh one-time approval code, grouped for reading: `7KQ4-M2XD-9PZA`."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def hash_code(*, gate_id: int, round: int, approver: str, code: str) -> str:
    """The stored form of a code: bound to its gate, round and approver."""
    normalized = code.upper().replace("-", "").replace(" ", "")
    message = f"{gate_id}:{round}:{approver.lower()}:{normalized}"
    return hashlib.sha256(message.encode()).hexdigest()


def new_link_token() -> str:
    """A fresh token for a personal link (review page, inbox): unguessable, URL-safe."""
    return secrets.token_urlsafe(LINK_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The stored form of a link token: a random 256-bit token needs no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def gate_approvers(gate: Gate, brief: ProjectBrief) -> dict[str, list[str]]:
    """Each person who may answer this gate, with the gate roles they answer for."""
    people: dict[str, list[str]] = {}
    for role in gate.approvers:
        for email in brief.approvers.get(role, []):
            if email == brief.project_manager.email and not gate.allow_project_manager:
                continue
            people.setdefault(email, []).append(role)
    return people


def refusal_reason(
    *,
    gate: Gate,
    brief: ProjectBrief,
    answer: Answer,
    gate_id: int,
    round: int,
    stored_code_hash: str | None,
    code_used: bool,
    by_link: bool = False,
) -> Refusal | None:
    """Why this answer cannot count, or None when it is valid.

    `by_link`: the answer came through the approver's personal review link, which the
    store has matched to this approver, gate and round; it stands in for the code, and
    still works once only (the code and the link are one credential, used together).
    """
    approver = answer.approver.lower()
    if approver == brief.project_manager.email and not gate.allow_project_manager:
        return Refusal(
            "project-manager",
            f"{approver} is the project manager and cannot approve their own gate",
        )
    if approver not in gate_approvers(gate, brief):
        return Refusal("not-an-approver", f"{approver} is not an approver of gate '{gate.key}'")
    if answer.decision not in gate.decisions:
        allowed = ", ".join(gate.decisions)
        return Refusal(
            "decision-not-allowed",
            f"decision '{answer.decision}' is not allowed at gate '{gate.key}' ({allowed})",
        )
    if isinstance(gate, ExceptionGate) and answer.decision == "go":
        try:
            check_tolerance_text(answer.conditions)
        except ValueError as exc:
            return Refusal("bad-tolerances", f"the new tolerances given with a go: {exc}")
    if scoring := scoring_refusal(gate, answer):
        return scoring
    if stored_code_hash is None:
        return Refusal("no-code", f"no approval code was issued to {approver} for this gate")
    if by_link:
        if code_used:
            return Refusal("code-used", f"{approver} has already answered this round")
        return None
    expected = hash_code(gate_id=gate_id, round=round, approver=approver, code=answer.code)
    # compare_digest: the time taken must not tell how much of a guess was right.
    if not hmac.compare_digest(stored_code_hash, expected):
        return Refusal("wrong-code", "the approval code is wrong")
    if code_used:
        return Refusal("code-used", "the approval code was already used")
    return None


def scoring_problem(
    gate: Gate, scores: dict[str, int], checks: dict[str, bool]
) -> tuple[str, str] | None:
    """What is wrong with a gatekeeper's scores: ("score" or "check", what, in words for
    them); None when all is well."""
    scored = {c.key for c in gate.scored}
    judged = {c.key for c in gate.judged}
    for key, score in scores.items():
        if key not in scored:
            known = ", ".join(sorted(scored)) or "none"
            return "score", f"gate '{gate.key}' scores no criterion '{key}' (it scores: {known})"
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
            return (
                "score",
                f"the score for '{key}' must be a whole number from 0 to 10, not {score!r}",
            )
    for key in checks:
        if key not in judged:
            known = ", ".join(sorted(judged)) or "none"
            return "check", (
                f"gate '{gate.key}' asks no yes/no for '{key}' "
                f"(the must-meet criteria left to the gatekeepers: {known})"
            )
    return None


def scoring_refusal(gate: Gate, answer: Answer) -> Refusal | None:
    """Why the scores of an answer cannot count: a score out of range or for a criterion
    the gate does not have, or a go past a must-meet 'no' without a comment saying why."""
    if problem := scoring_problem(gate, answer.scores, answer.checks):
        return Refusal("bad-score", problem[1])
    missed = sorted(key for key, met in answer.checks.items() if not met)
    if answer.decision == "go" and missed and not answer.comment.strip():
        return Refusal(
            "go-without-reason",
            f"a go with must-meet {', '.join(missed)} answered 'no' needs a comment saying why",
        )
    return None


def required_goes(gate: Gate, approver_count: int) -> int:
    """How many 'go' answers pass the gate, from its quorum rule."""
    match gate.quorum:
        case "all":
            return approver_count
        case "any":
            return 1
        case "majority":
            return approver_count // 2 + 1
        case int(number):
            return min(number, approver_count)
    raise ValueError(f"unknown quorum {gate.quorum!r}")


def gate_outcome(gate: Gate, approver_count: int, accepted: list[str]) -> Decision | None:
    """The gate's decision from the accepted answers so far, or None while it must wait.

    A kill, hold or recycle from any approver decides at once: one gatekeeper's objection
    is enough to stop a project going on. A go needs the quorum.
    """
    for decision in accepted:
        if decision != "go":
            return decision  # type: ignore[return-value]
    if accepted.count("go") >= required_goes(gate, approver_count):
        return "go"
    return None
