"""The Word files open in LibreOffice: every document converts to PDF, headless.

Skipped where neither `soffice` nor `libreoffice` is on PATH. LibreOffice says nothing
when it repairs a file in headless mode, so the check is that each file converts, with
no error, to a PDF whose text holds the document's title and its page header.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.factories import make_brief
from tests.project_record import run_documents

pytestmark = pytest.mark.integration

OFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(OFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_every_document_converts_to_pdf_in_libreoffice(store_url: str, tmp_path: Path):
    written = run_documents(make_brief())
    out = tmp_path / "pdf"
    result = subprocess.run(
        [
            OFFICE,
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",  # no shared profile lock
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *map(str, written.values()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stdout + result.stderr
    for docx_path in written.values():
        pdf = out / f"{docx_path.stem}.pdf"
        assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF"), docx_path.name
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
            assert "Apollo customer portal" in text, docx_path.name
            assert "APOLLO · Apollo customer portal" in text, docx_path.name  # the header
