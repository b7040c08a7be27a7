"""What an approver waits for to see their inbox as gates pile up across the PMO: from the
GET of their inbox link to the whole page, served as `pmo up` serves it.

Run by hand: `python bench/inbox_scale.py [--gates 1000] [--reads 5]`, with the machine
otherwise quiet. The store is a scratch database on the PostgreSQL server at
PMO_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres). Each
project waits at gate 1 of `stage-gate` with its request mailed to two gatekeepers: one of
its own and the PMO's chair, who is asked at every gate. Recorded as the lifecycle flow
records it, without Prefect (the inbox reads only the store).

Two approvers: one of the project gatekeepers (one gate waits on them), and the chair
(every gate waits on them). Baseline in the same run: both inboxes with a tenth of the
gates open; an inbox's time should grow with the approver's gates, not the PMO's.
"""

import argparse
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedded import scratch_postgres_store  # noqa: E402

from pmo.gates.answers import send_approval_request  # noqa: E402
from pmo.mail import compose_message  # noqa: E402
from pmo.settings import get_settings  # noqa: E402
from pmo.store import session_scope  # noqa: E402
from pmo.web.serving import web_in_thread  # noqa: E402
from process_library.loader import load_lifecycle  # noqa: E402
from tests.factories import make_brief  # noqa: E402
from tests.project_record import at_gate  # noqa: E402
from tests.web.pages import free_port  # noqa: E402

STAGE_GATE = load_lifecycle("stage-gate")
IDEA_SCREEN = STAGE_GATE.lifecycle.stages[0]
CHAIR = "chair@example.com"


def waiting_project(number: int) -> dict[str, str]:
    """Project `number` at its first gate, its request mailed to its gatekeepers; each
    gatekeeper's inbox link."""
    keepers = [f"keeper.p{number}@example.com", CHAIR]
    brief = make_brief(
        key=f"INB{number}",
        approvers={"gatekeepers": keepers, "sponsor": ["dana.reyes@example.com"]},
    )
    inbox: dict[str, str] = {}
    with session_scope() as session:
        _, _, gate = at_gate(
            session, brief, IDEA_SCREEN, lifecycle=STAGE_GATE, run_id=str(uuid.uuid4())
        )
        for approver in keepers:

            def compose(code, links, approver=approver):  # noqa: ANN001, ANN202
                inbox[approver] = links.inbox
                return compose_message(
                    to=[approver],
                    subject="Decide",
                    body=f"Approval code: {code}",
                    message_id_key=f"{gate.id}/{approver}",
                )

            send_approval_request(session, gate=gate, round=1, approver=approver, compose=compose)
    return inbox


def read_inbox(client: httpx.Client, url: str, expect_rows: int, reads: int) -> float:
    """The median seconds from the GET to the whole page, which must list `expect_rows`."""
    took = []
    for _ in range(reads):
        started = time.perf_counter()
        page = client.get(url)
        took.append(time.perf_counter() - started)
        page.raise_for_status()
        if (rows := page.text.count("Review and decide")) != expect_rows:
            raise SystemExit(f"the inbox listed {rows} gates, not {expect_rows}")
    return statistics.median(took)


def measure(client: httpx.Client, first: dict[str, str], gates: int, reads: int) -> list[float]:
    one = read_inbox(client, first["keeper.p0@example.com"], 1, reads)
    every = read_inbox(client, first[CHAIR], gates, reads)
    print(
        f"{gates} gates open: inbox of an approver with 1 gate p50 {one:.3f} s; "
        f"of the chair with {gates} p50 {every:.3f} s"
    )
    return [one, every]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=1000, help="projects waiting at a gate")
    parser.add_argument("--reads", type=int, default=5, help="reads of each inbox")
    args = parser.parse_args()
    port = free_port()
    scratch_postgres_store("pmo_bench_inbox")
    os.environ["PMO_WEB_URL"] = f"http://127.0.0.1:{port}"
    get_settings.cache_clear()
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # a line per read

    small = max(args.gates // 10, 1)
    first = waiting_project(0)
    for number in range(1, small):
        waiting_project(number)
    with web_in_thread(port=port), httpx.Client(timeout=300) as client:
        client.get(first[CHAIR]).raise_for_status()  # the first request starts the app
        few = measure(client, first, small, args.reads)
        for number in range(small, args.gates):
            waiting_project(number)
        many = measure(client, first, args.gates, args.reads)
    print(
        f"{args.gates} gates against {small}: the approver with 1 gate {many[0] / few[0]:.2f}x, "
        f"the chair {many[1] / few[1]:.2f}x"
    )


if __name__ == "__main__":
    main()
