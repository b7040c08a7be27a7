"""Benchmark: an approver deciding on the review page against `pmo approve`, same run.

Run by hand: `python bench/review_page.py [--answers 20]`. A scratch embedded default (a
local Prefect server, a SQLite store) and the approvers' pages served as `pmo up` serves
them. 2 x N projects wait at their charter approval, each with its documents and gate
pack as the lifecycle writes them (the demo's first gate) and a request mailed to the
outbox with the sponsor's code and links. The sponsor answers go on N of them from the
page (the GET that renders it, then the POST until the page it returns confirms the
answer was recorded) and on the other N with `pmo approve` (in this process, so the
figure is the command's work, not Python starting). Both are the round's first answer:
judged, recorded, announced as a `pmo.gate.answered` event. The two sides alternate, so
a busy machine slows both alike.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pmo.cli import app  # noqa: E402
from pmo.runtime.server import local_prefect_server  # noqa: E402
from pmo.settings import get_settings  # noqa: E402
from pmo.web.serving import web_in_thread  # noqa: E402
from tests.factories import make_brief  # noqa: E402
from tests.web.pages import free_port, mailed_gate  # noqa: E402

SPONSOR = "dana.reyes@example.com"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@contextmanager
def scratch_embedded_default() -> Iterator[None]:
    """bench/embedded.py's scratch default, with time for the server to start on a busy
    machine: a local Prefect server, a SQLite store and an outbox in a temporary home."""
    with tempfile.TemporaryDirectory(prefix="pmo-bench-") as scratch:
        home = Path(scratch)
        os.environ.update(PMO_HOME=str(home), PMO_SMTP_HOST="")
        os.environ.pop("PMO_DATABASE_URL", None)
        get_settings.cache_clear()
        with (
            local_prefect_server(home / "prefect", ui=False, timeout=300) as api_url,
            temporary_settings(updates={PREFECT_API_URL: api_url}),
        ):
            yield


def percentile(times: list[float], share: float) -> float:
    return sorted(times)[max(0, round(share * len(times)) - 1)]


def main(answers: int) -> None:
    with scratch_embedded_default():
        port = free_port()
        os.environ["PMO_WEB_URL"] = f"http://127.0.0.1:{port}"
        get_settings.cache_clear()
        gates = [mailed_gate(make_brief(key=f"BENCH{i}")) for i in range(2 * answers)]
        rendered, posted, approved = [], [], []
        with web_in_thread(port=port), httpx.Client(timeout=60) as client:
            for page_gate, cli_gate in zip(gates[::2], gates[1::2], strict=True):
                url = page_gate.review[SPONSOR]
                started = time.perf_counter()
                page = client.get(url)
                rendered.append(time.perf_counter() - started)
                assert page.status_code == 200 and "Gate review" in page.text
                form = {"csrf": CSRF.search(page.text).group(1), "decision": "go"}
                form["comment"] = "Reviewed the gate pack; criteria met."
                started = time.perf_counter()
                answered = client.post(url, data=form)
                posted.append(time.perf_counter() - started)
                assert "Your answer is recorded." in answered.text, answered.text[:400]

                command = ["approve", cli_gate.run_id, "--as", SPONSOR, "--decision", "go"]
                command += ["--code", cli_gate.codes[SPONSOR], "--comment", form["comment"]]
                started = time.perf_counter()
                result = CliRunner().invoke(app, command)
                approved.append(time.perf_counter() - started)
                assert result.exit_code == 0 and "recorded" in result.output, result.output
    load = os.getloadavg()
    print(f"{answers} answers each (load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    for name, times in (
        ("review page GET (render)", rendered),
        ("review page POST (recorded)", posted),
        ("page: GET + POST", [a + b for a, b in zip(rendered, posted, strict=True)]),
        ("pmo approve (in process)", approved),
    ):
        print(
            f"  {name:30} p50 {statistics.median(times) * 1000:7.1f} ms  "
            f"p95 {percentile(times, 0.95) * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=20)
    main(parser.parse_args().answers)
