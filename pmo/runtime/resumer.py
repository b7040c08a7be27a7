"""The warm resumer: starts resumed (and rescheduled) lifecycle runs within a fraction of a
second, beside the served deployments of `pmo up` and as `pmo resumer` on further machines.

A served deployment's runner polls for scheduled runs and starts each one as `python -m
prefect.engine`, a new interpreter that imports Prefect and our flows again (2 to 3 s) after
the poll. The resumer instead hears Prefect's `prefect.flow-run.Resuming` and `Scheduled`
events (with a short poll of the deployment's due runs in case the event stream drops),
claims the run by proposing Pending (atomic in Prefect: of two runners, resumers or the
stock runner, one is refused and skips it), and runs it in a child forked from a
pre-imported forkserver (`pmo.runtime.claimed_run`). The stock runner keeps serving as the
safety net: whatever the resumer does not claim, it starts on its own poll.

What it does for the runs it starts, as the stock runner does: a run set Cancelling has its
child killed and ends Cancelled; a child that dies leaves its run Crashed, not Running;
at most `PMO_RESUMER_SLOTS` runs at once (a run found with no slot free is left for a later
poll or another runner). A run that suspends at a gate ends its child: no process is held
while a project waits. A claim whose resumer died before its child started (the run left
Pending) is scheduled again, at once on the same machine, after `CLAIM_TIMEOUT` elsewhere.
"""

import asyncio
import contextvars
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from queue import Empty, Queue
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.settings import get_current_settings
from prefect.states import Cancelled, Crashed, Pending, Scheduled

from flows.deployments import LIFECYCLE_DEPLOYMENT
from pmo.runtime.claimed_run import PRELOAD, run_claimed

log = logging.getLogger("pmo.resumer")

POLL_SECONDS = 2.0  # the fallback when an event is missed: a few seconds, not the runner's
CLAIM_PREFIX = "Claimed by pmo resumer"
CLAIM_GRACE_SECONDS = 10  # a child started just before its resumer died moves it on by then
CLAIM_TIMEOUT_SECONDS = 120  # a claim by a resumer on another machine, taken as dead after
CANCEL_GRACE_SECONDS = 10
WAKING_EVENTS = ["prefect.flow-run.Resuming", "prefect.flow-run.Scheduled"]
CANCELLING_EVENT = "prefect.flow-run.Cancelling"


@dataclass
class Child:
    run_id: UUID
    process: multiprocessing.process.BaseProcess
    claim_id: UUID | None = None  # the Pending state that claimed the run for this child
    cancelling: bool = False


@dataclass
class Resumer:
    """Claims and runs the due runs of one deployment; `run()` until `stop` is set."""

    slots: int
    deployment_name: str = LIFECYCLE_DEPLOYMENT
    poll_seconds: float = POLL_SECONDS
    claim_timeout: float = CLAIM_TIMEOUT_SECONDS
    stop: threading.Event = field(default_factory=threading.Event)
    listening: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._woken: Queue[UUID | None] = Queue()
        self._children: dict[UUID, Child] = {}
        self._lock = threading.Lock()
        self._free = threading.Semaphore(self.slots)
        self._host = socket.gethostname()
        self._claim = f"{CLAIM_PREFIX} on {self._host}, pid {os.getpid()}"
        self._context = multiprocessing.get_context("forkserver")
        self.started_runs = 0

    def run(self) -> None:
        """Serve until `stop` is set; then let the running children finish their stage."""
        self._context.set_forkserver_preload(PRELOAD)
        # Start (and preload) the forkserver now, not on the first resume.
        warm = self._context.Process(target=int)
        warm.start()
        warm.join()
        with get_client(sync_client=True) as client:
            self._deployment = self._wait_for_deployment(client)
            if self._deployment is None:
                return
            self._entrypoint = self._deployment.entrypoint
            in_thread(self._listen)
            next_poll = 0.0
            while not self.stop.is_set():
                if time.monotonic() >= next_poll:
                    self._poll(client)
                    next_poll = time.monotonic() + self.poll_seconds
                try:
                    run_id = self._woken.get(timeout=max(0.05, next_poll - time.monotonic()))
                except Empty:
                    continue
                if run_id is not None:
                    self._try_start(client, run_id)
        self._drain()

    # -- finding due runs -------------------------------------------------------------

    def _wait_for_deployment(self, client):
        # In `pmo up` the deployment is registered by serve() in the same moment.
        while True:
            try:
                return client.read_deployment_by_name(self.deployment_name)
            except Exception:  # not registered yet, or the server is still starting
                if self.stop.wait(0.5):
                    return None

    def _listen(self) -> None:
        """Wake the main loop on each event about our deployment's runs; reconnect on any
        drop (runs woken meanwhile are found by the poll)."""
        while not self.stop.is_set():
            try:
                asyncio.run(self._subscribe())
            except Exception as exc:  # the stream dropped: the poll covers the gap
                self.listening.clear()
                log.warning("Event stream lost (%s); polling every %s s.", exc, self.poll_seconds)
                self.stop.wait(1)

    async def _subscribe(self) -> None:
        names = [*WAKING_EVENTS, CANCELLING_EVENT]
        events = EventFilter(event=EventNameFilter(name=names))
        deployment = f"prefect.deployment.{self._deployment.id}"
        async with get_events_subscriber(filter=events, reconnection_attempts=2) as subscriber:
            self.listening.set()
            log.info("Resumer listening for resumed runs of %s.", self.deployment_name)
            async for event in subscriber:
                if self.stop.is_set():
                    return
                if not any(r.id == deployment for r in event.related):
                    continue
                run_id = UUID(event.resource.id.removeprefix("prefect.flow-run."))
                if event.event == CANCELLING_EVENT:
                    self._cancel(run_id)
                else:
                    self._woken.put(run_id)

    def _poll(self, client) -> None:
        try:
            due = client.get_scheduled_flow_runs_for_deployments(
                deployment_ids=[self._deployment.id], scheduled_before=datetime.now(UTC)
            )
            for run in due:
                self._try_start(client, run.id, run)
            self._check_children(client)
            self._release_dead_claims(client)
        except Exception as exc:  # the server away: try again at the next poll
            log.warning("Resumer poll failed: %s", exc)

    # -- claiming and starting ----------------------------------------------------------

    def _try_start(self, client, run_id: UUID, run: FlowRun | None = None) -> None:
        with self._lock:
            if run_id in self._children:
                return
        if not self._free.acquire(blocking=False):
            return  # full: a later poll, another resumer or the stock runner takes it
        try:
            started = self._claim_and_start(client, run_id, run)
        except Exception as exc:
            log.warning("Could not start run %s: %s", run_id, exc)
            started = False
        if not started:
            self._free.release()

    def _claim_and_start(self, client, run_id: UUID, run: FlowRun | None) -> bool:
        run = run or client.read_flow_run(run_id)
        state = run.state
        if run.deployment_id != self._deployment.id or state is None or not state.is_scheduled():
            return False
        due = state.state_details.scheduled_time
        if due is not None and due > datetime.now(UTC) + timedelta(seconds=0.5):
            return False  # scheduled for later: the poll finds it when it is due
        claim = client.set_flow_run_state(run_id, Pending(message=self._claim))
        if claim.status != SetStateStatus.ACCEPT:
            return False  # another runner has it
        process = self._context.Process(
            target=run_claimed,
            args=(str(run_id), self._entrypoint, self._child_environment(run)),
            name=f"pmo-run-{run_id}",
        )
        process.start()
        child = Child(run_id, process, claim.state.id if claim.state else None)
        with self._lock:
            self._children[run_id] = child
        self.started_runs += 1
        log.info("Started %s (%s) in process %s.", run.name, run_id, process.pid)
        in_thread(self._watch, child)
        return True

    def _child_environment(self, run: FlowRun) -> dict[str, str]:
        # What the stock runner hands `python -m prefect.engine`: our environment, the
        # Prefect settings in force here, and the run's identity.
        settings = get_current_settings().to_environment_variables(exclude_unset=True)
        environment = {**os.environ, **{k: str(v) for k, v in settings.items() if v is not None}}
        environment.update(
            {
                "PREFECT__FLOW_RUN_ID": str(run.id),
                "PREFECT__DEPLOYMENT_NAME": self._deployment.name,
                "PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false",
            }
        )
        return environment

    # -- the runs it started ------------------------------------------------------------

    def _watch(self, child: Child) -> None:
        child.process.join()
        try:
            with get_client(sync_client=True) as client:
                self._settle(client, child)
        except Exception as exc:
            log.warning("Could not settle run %s: %s", child.run_id, exc)
        finally:
            with self._lock:
                self._children.pop(child.run_id, None)
            self._free.release()
            self._woken.put(None)

    def _settle(self, client, child: Child) -> None:
        """Leave the run in a true state once its process is gone."""
        run = client.read_flow_run(child.run_id)
        state = run.state
        code = child.process.exitcode
        if state is None or state.is_final() or state.is_paused() or state.is_scheduled():
            return  # the run said how it ended (or suspended, or was woken again)
        if not child.cancelling and self._taken_since(client, child):
            return  # its child suspended it; woken again, another runner has it now
        if child.cancelling or state.is_cancelling():
            client.set_flow_run_state(
                child.run_id, Cancelled(message="Cancelled: its process was stopped.")
            )
            log.info("Cancelled %s.", run.name)
            return
        if state.type in (StateType.RUNNING, StateType.PENDING):
            message = f"The run's process exited with status {code} without ending the run."
            client.set_flow_run_state(child.run_id, Crashed(message=message))
            log.warning("%s crashed: %s", run.name, message)

    def _taken_since(self, client, child: Child) -> bool:
        """Whether the run was suspended or scheduled after this child's claim: its child
        then ended its part, and the Running or Pending state read now is another runner's
        (a resume answered within a second, claimed by another resumer or a worker)."""
        states = sorted(client.read_flow_run_states(child.run_id), key=lambda s: s.timestamp)
        ids = [s.id for s in states]
        if child.claim_id not in ids:
            return False
        since = states[ids.index(child.claim_id) + 1 :]
        return any(s.is_paused() or s.is_scheduled() for s in since)

    def _cancel(self, run_id: UUID) -> None:
        with self._lock:
            child = self._children.get(run_id)
        if child is None or child.cancelling:
            return
        child.cancelling = True
        # Killed outright: a run stopped mid-task must not report anything after this;
        # `_settle` then records it Cancelled.
        child.process.kill()
        log.info("Cancelling %s: process %s killed.", run_id, child.process.pid)

    def _check_children(self, client) -> None:
        """The poll's half of cancellation, for a Cancelling event the stream missed."""
        with self._lock:
            ids = list(self._children)
        if not ids:
            return
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=ids),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLING])),
            )
        )
        for run in runs:
            self._cancel(run.id)

    def _release_dead_claims(self, client) -> None:
        """Schedule again a run left Pending by a resumer that died between claiming it and
        starting its process (nothing else would ever start it)."""
        pending = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[self._deployment.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PENDING]))
            ),
        )
        now = datetime.now(UTC)
        for run in pending:
            state = run.state
            if state is None or not (state.message or "").startswith(CLAIM_PREFIX):
                continue
            with self._lock:
                if run.id in self._children:
                    continue
            age = (now - state.timestamp).total_seconds()
            if _claim_is_dead(state.message, self._host, age, self.claim_timeout):
                client.set_flow_run_state(
                    run.id,
                    Scheduled(message=f"Scheduled again: its claim was left ({state.message})."),
                    force=True,
                )
                log.warning("Released %s: %s, which is gone.", run.name, state.message)

    def _drain(self) -> None:
        with self._lock:
            children = list(self._children.values())
        for child in children:
            child.process.join(timeout=CANCEL_GRACE_SECONDS)
            if child.process.is_alive():
                child.process.kill()
                child.process.join()


def _claim_is_dead(message: str, host: str, age: float, timeout: float) -> bool:
    """A claim whose resumer is gone: on this machine its process no longer exists (and
    the claim is old enough that a child it started would have moved the run on); on
    another machine it is older than `timeout`."""
    _, _, where = message.partition(" on ")
    claim_host, _, pid = where.partition(", pid ")
    if age >= timeout:
        return True
    if claim_host != host or age < CLAIM_GRACE_SECONDS or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def in_thread(target, *args) -> threading.Thread:
    """A daemon thread that runs `target` with this thread's context (Prefect's settings,
    such as the API `pmo up` points at, live in context variables, which a thread does
    not inherit)."""
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target, *args), daemon=True)
    thread.start()
    return thread


@contextmanager
def resumer_in_thread(slots: int) -> Iterator[Resumer]:
    """A resumer beside the served deployments, in a thread of `pmo up`."""
    resumer = Resumer(slots=slots)
    thread = in_thread(resumer.run)
    try:
        yield resumer
    finally:
        resumer.stop.set()
        resumer._woken.put(None)
        thread.join(timeout=CANCEL_GRACE_SECONDS + 5)
