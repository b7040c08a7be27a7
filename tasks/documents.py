"""Render a project document: Markdown artifact in Prefect, .docx on disk, row in the store."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pmo.brief import ProjectBrief
from pmo.documents.embed import with_embedded_images
from pmo.documents.versions import write_document_version
from pmo.store import session_scope
from pmo.store.models import DocumentRecord
from pmo.store.records import find_document
from process_library.loader import LoadedLifecycle
from process_library.schema import DOCUMENT_TITLES, Stage
from tasks.retries import STORE_RETRIES


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


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="render {document_key}")
def render_document(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    document_key: str,
    template: str | None = None,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    occasion: str = "",
) -> DocumentRef:
    """Write one version of a document, once per project, stage attempt and document
    (and `occasion`, for a document written more than once in a stage: `update-3`)."""
    template = template or document_key
    title = title or DOCUMENT_TITLES[template]
    once_key = f"{brief.key}/{stage.key}/{attempt}/{document_key}"
    if occasion:
        once_key += f"/{occasion}"
    with session_scope() as session:
        if (existing := find_document(session, idempotency_key=once_key)) is not None:
            return _ref(existing)
        record, markdown = write_document_version(
            session,
            brief=brief,
            lifecycle=lifecycle,
            stage=stage,
            attempt=attempt,
            document_key=document_key,
            template=template,
            title=title,
            idempotency_key=once_key,
            extra=extra,
        )
        # Published inside the transaction: if publishing fails, the row is not committed and
        # a rerun renders and publishes again, so every recorded version is in Prefect too.
        create_markdown_artifact(
            markdown=with_embedded_images(markdown, Path(record.markdown_path).parent),
            key=record.artifact_key,
            description=f"{title} v{record.version} · {stage.name} (attempt {attempt})",
        )
        return _ref(record)
