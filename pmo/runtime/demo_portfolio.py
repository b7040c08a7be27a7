"""The demo's portfolio: a second, small project (`pmo/examples/hermes.yaml`) runs beside
the main one, and once both work to an approved baseline the demo's PMO writes the
portfolio review (ranking, funding line, capacity by role and month) into the demo's
folder. The second project's sponsor then acts on it: it is stopped at its next gate."""

import contextvars
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pmo.brief import EXAMPLE_BRIEF, ProjectBrief, load_brief
from pmo.control.updates import StatusUpdate
from pmo.documents.portfolio_review import write_portfolio_review
from pmo.portfolio.report import current_portfolio
from pmo.runtime.approver_bot import GateTurn, StatusTurn, approve_everything
from pmo.store import session_scope
from pmo.store.plans import latest_baseline_number
from pmo.store.records import get_project

SECOND_BRIEF = EXAMPLE_BRIEF.with_name("hermes.yaml")
SECOND_LIFECYCLE = "pmbok-waterfall"


@dataclass
class PortfolioMoment:
    """Writes the portfolio review once every project named has a baseline in force (or
    when asked to at the end, whatever stands then), once."""

    out: Path
    keys: tuple[str, ...]
    done: threading.Event = field(default_factory=threading.Event)
    written: list[Path] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write_when_baselined(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not self.done.is_set() and not self._baselined():
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.write()

    def write(self) -> None:
        with self._lock:
            if self.done.is_set():
                return
            folder = self.out / "portfolio"
            folder.mkdir(parents=True, exist_ok=True)
            generated_at = datetime.now(UTC)
            self.written = write_portfolio_review(
                current_portfolio(), folder, generated_at=generated_at
            )
            self.done.set()

    def _baselined(self) -> bool:
        with session_scope() as session:
            for key in self.keys:
                project = get_project(session, key=key)
                if (
                    project is None
                    or latest_baseline_number(session, project_id=project.id) is None
                ):
                    return False
        return True


@dataclass(frozen=True)
class ReportsOnceReviewed:
    """The main project's manager writes the review before their first status report (both
    projects have their baselines by then), then reports as usual."""

    moment: PortfolioMoment
    report: object  # the project manager (a Reporter)

    def __call__(self, turn: StatusTurn) -> StatusUpdate:
        self.moment.write_when_baselined()
        return self.report(turn)  # type: ignore[operator]


@dataclass(frozen=True)
class WaitsForReview:
    """The second project's manager holds their status report until the review is out."""

    moment: PortfolioMoment
    report: object

    def __call__(self, turn: StatusTurn) -> StatusUpdate | None:
        if not self.moment.done.is_set():
            return None
        return self.report(turn)  # type: ignore[operator]


STOPPED = (
    "Stopped at the portfolio review: below the funding line for 2027, and its developers "
    "are needed by a higher-ranked project in the same month (see the review)."
)


@dataclass(frozen=True)
class SponsorActsOnReview:
    """The second project's approvers: go, until the review is out; then its sponsor stops
    it at the next gate, for the reasons the review gives."""

    moment: PortfolioMoment

    def __call__(self, turn: GateTurn) -> tuple[str, str, str]:
        if self.moment.done.is_set() and turn.kind == "stage":
            return "kill", STOPPED, ""
        return approve_everything(turn)


def second_brief(first: ProjectBrief) -> ProjectBrief | None:
    """The bundled second project, unless the main one already has its key."""
    brief = load_brief(SECOND_BRIEF)
    return None if brief.key == first.key else brief


def in_thread(work) -> tuple[threading.Thread, list]:
    """Run `work()` in a thread with the caller's Prefect settings; its result lands in
    the list returned."""
    results: list = []
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(lambda: results.append(work()),), name="second-project"
    )
    thread.start()
    return thread, results
