"""Project document versions: write one (Markdown and .docx on disk, a row in the store),
or list them.

The `render_document` task publishes what this writes as a Prefect artifact; tests and
the benchmark call it directly, without a Prefect server.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.documents.docx import DocumentHeader
from pmo.documents.dossier import build_dossier
from pmo.documents.output import write_document
from pmo.errors import PmoInputError
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import DocumentRecord
from pmo.store.records import (
    document_versions,
    ensure_stage_run,
    get_project,
    next_document_version,
)
from pmo.templating import check_template
from process_library.loader import LoadedLifecycle
from process_library.schema import Lifecycle, Stage

# Every gate's review pack is rendered from this template (see flows/gate.py).
GATE_REVIEW_TEMPLATE = "gate-review"
# ... and its decision record, once decided: every round, every answer, the scores.
GATE_DECISION_TEMPLATE = "gate-decision"
# A reporting stage writes a status report per update and an exception report per breach.
EXCEPTION_REPORT_TEMPLATE = "exception-report"


def check_lifecycle_templates(lifecycle: Lifecycle) -> list[Path]:
    """Compile every template a run of `lifecycle` will render, before anything is written:
    a PMO's broken template stops the run at its start, not at the stage that needs it."""
    keys = [d.key for stage in lifecycle.stages for d in stage.documents]
    keys += [*lifecycle.cancellation_documents, GATE_REVIEW_TEMPLATE, GATE_DECISION_TEMPLATE]
    if any(stage.reporting for stage in lifecycle.stages):
        keys += ["status-report", EXCEPTION_REPORT_TEMPLATE]
    return [check_template(f"{key}.md.j2") for key in dict.fromkeys(keys)]


def write_document_version(
    session: Session,
    *,
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    document_key: str,
    template: str,
    title: str,
    idempotency_key: str,
    extra: dict[str, Any] | None = None,
) -> tuple[DocumentRecord, str]:
    """Render the next version of a document; returns its row (flushed) and its Markdown.

    Files land in `documents/<KEY>/<KEY>-<document>-v<n>.md|.docx`, with any chart the
    template draws beside them as `<KEY>-<document>-v<n>-<chart>.png`.
    """
    project = get_project(session, key=brief.key)
    version = next_document_version(session, project=project, document_key=document_key)
    folder = get_settings().resolved_documents_dir / brief.key
    stem = f"{brief.key}-{document_key}-v{version}"
    dossier = build_dossier(
        session,
        project=project,
        brief=brief,
        lifecycle=lifecycle,
        stage=stage,
        attempt=attempt,
        version=version,
        charts_at=folder / stem,
        extra={"title": title, **(extra or {})},
    )
    written = write_document(
        folder,
        stem,
        template=f"{template}.md.j2",
        context=dossier,
        header=DocumentHeader(
            project=f"{brief.key} · {brief.name}",
            document=title,
            version=f"v{version}",
            stage=f"{stage.name} (attempt {attempt})",
            lifecycle=f"{lifecycle.lifecycle.name} @ {lifecycle.version}",
        ),
    )
    record = DocumentRecord(
        project_id=project.id,
        stage_run_id=ensure_stage_run(session, project=project, stage=stage, attempt=attempt).id,
        idempotency_key=idempotency_key,
        document_key=document_key,
        title=title,
        version=version,
        markdown_path=str(written.markdown_path),
        docx_path=str(written.docx_path),
        sha256=hashlib.sha256(written.docx).hexdigest(),
        markdown_sha256=hashlib.sha256(written.markdown.encode("utf-8")).hexdigest(),
        artifact_key=f"{brief.key}-{document_key}".lower(),
    )
    session.add(record)
    session.flush()
    return record, written.markdown


@dataclass(frozen=True)
class DocumentVersion:
    """One version of one document, as `pmo docs` lists it."""

    document: str
    title: str
    version: int
    stage: str | None
    attempt: int | None
    sha256: str
    docx_path: str
    markdown_path: str
    created_at: datetime


def list_document_versions(project_key: str) -> list[DocumentVersion]:
    """Every document version of a project in the store, oldest first."""
    with session_scope() as session:
        project = get_project(session, key=project_key)
        if project is None:
            raise PmoInputError("project", f"no project with key '{project_key}' in the store")
        return [
            DocumentVersion(
                document=record.document_key,
                title=record.title,
                version=record.version,
                stage=stage_run.stage_key if stage_run else None,
                attempt=stage_run.attempt if stage_run else None,
                sha256=record.sha256,
                docx_path=record.docx_path,
                markdown_path=record.markdown_path,
                created_at=record.created_at,
            )
            for record, stage_run in document_versions(session, project=project)
        ]
