"""Render a project document: Markdown artifact in Prefect, .docx on disk, row in the store."""

import hashlib
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pmo.brief import ProjectBrief
from pmo.documents import DocumentHeader, markdown_to_docx, render_markdown
from pmo.dossier import build_dossier
from pmo.files import write_atomically
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import DocumentRecord
from pmo.store.records import (
    ensure_stage_run,
    find_document,
    get_project,
    next_document_version,
)
from process_library.loader import LoadedLifecycle
from process_library.schema import DOCUMENT_TITLES, Stage


@dataclass(frozen=True)
class DocumentRef:
    key: str
    title: str
    version: int
    markdown_path: str
    docx_path: str
    sha256: str


def _ref(record: DocumentRecord) -> DocumentRef:
    return DocumentRef(
        record.document_key,
        record.title,
        record.version,
        record.markdown_path,
        record.docx_path,
        record.sha256,
    )


@task(cache_policy=NO_CACHE, task_run_name="render {document_key}")
def render_document(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    document_key: str,
    template: str | None = None,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
) -> DocumentRef:
    """Write one version of a document, once per project, stage attempt and document."""
    template = template or document_key
    title = title or DOCUMENT_TITLES[template]
    once_key = f"{brief.key}/{stage.key}/{attempt}/{document_key}"
    with session_scope() as session:
        if (existing := find_document(session, idempotency_key=once_key)) is not None:
            return _ref(existing)
        project = get_project(session, key=brief.key)
        version = next_document_version(session, project=project, document_key=document_key)
        dossier = build_dossier(
            session,
            project=project,
            brief=brief,
            lifecycle=lifecycle,
            stage=stage,
            attempt=attempt,
            version=version,
            extra={"title": title, **(extra or {})},
        )
        markdown = render_markdown(f"{template}.md.j2", dossier)
        docx = markdown_to_docx(
            markdown,
            header=DocumentHeader(
                project=f"{brief.key} · {brief.name}",
                document=title,
                version=f"v{version}",
                stage=f"{stage.name} (attempt {attempt})",
                lifecycle=f"{lifecycle.lifecycle.name} @ {lifecycle.version}",
            ),
        )
        folder = get_settings().resolved_documents_dir / brief.key
        stem = f"{brief.key}-{document_key}-v{version}"
        md_path = write_atomically(folder / f"{stem}.md", markdown.encode("utf-8"))
        docx_path = write_atomically(folder / f"{stem}.docx", docx)
        record = DocumentRecord(
            project_id=project.id,
            stage_run_id=ensure_stage_run(
                session, project=project, stage=stage, attempt=attempt
            ).id,
            idempotency_key=once_key,
            document_key=document_key,
            title=title,
            version=version,
            markdown_path=str(md_path),
            docx_path=str(docx_path),
            sha256=hashlib.sha256(docx).hexdigest(),
            markdown_sha256=hashlib.sha256(markdown.encode("utf-8")).hexdigest(),
            artifact_key=f"{brief.key}-{document_key}".lower(),
        )
        session.add(record)
        session.flush()
        # Published inside the transaction: if publishing fails, the row is not committed and
        # a rerun renders and publishes again, so every recorded version is in Prefect too.
        create_markdown_artifact(
            markdown=markdown,
            key=record.artifact_key,
            description=f"{title} v{version} · {stage.name} (attempt {attempt})",
        )
        return _ref(record)
