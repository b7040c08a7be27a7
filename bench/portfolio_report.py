"""Benchmark: write the portfolio audit report for a synthetic portfolio of N projects.

Run by hand, not by pytest:

    /work/venv/bin/python bench/portfolio_report.py [N ...]      # default: 1000 10000

The audit is built in memory (tests/audit_portfolios.py: the real checklist, a third of the
projects with findings, most gates decided, SPI/CPI for 60 %), so this times the report
alone: Markdown, .docx, JSON and charts, as `pmo audit --out` and the `pmo-audit` flow
write them. Target: a few seconds for 10,000 projects. Wall time counts whatever else the
machine is doing; the CPU time of this process is printed beside it.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PMO_HOME"] = tempfile.mkdtemp(prefix="pmo-bench-")
os.environ.pop("PMO_TEMPLATES_DIR", None)
os.environ.pop("PMO_REFERENCE_DOCX", None)

from pmo.documents.audit_report import write_portfolio_report  # noqa: E402
from tests.audit_portfolios import synthetic_portfolio  # noqa: E402


def main(counts: list[int]) -> None:
    # Warm up: matplotlib's and the template's first use are paid once per process.
    write_portfolio_report(synthetic_portfolio(20), Path(tempfile.mkdtemp()))
    for count in counts:
        audit = synthetic_portfolio(count)
        folder = Path(tempfile.mkdtemp(prefix="pmo-bench-report-"))
        started, cpu = time.perf_counter(), time.process_time()
        paths = write_portfolio_report(audit, folder)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        sizes = ", ".join(f"{p.suffix} {p.stat().st_size / 1e6:.1f} MB" for p in paths[:3])
        listed = sum(not p.compliant for p in audit.projects)
        print(
            f"{count:>6} projects, {len(audit.findings):>5} findings, "
            f"{listed:>5} non-compliant: {took:5.2f} s ({cpu:5.2f} s CPU; {sizes}, "
            f"{len(paths) - 3} charts)"
        )


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or [1000, 10000])
