"""`pmo docs`: the versions of a project's documents, as the store records them."""

import json
from typing import Annotated

import typer


def docs(
    project_key: Annotated[str, typer.Argument(help="The project's key (e.g. APOLLO).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List every version of the project's documents: stage, attempt, sha256 and files."""
    from pmo.documents.versions import list_document_versions

    versions = list_document_versions(project_key)
    if as_json:
        rows = [
            {
                "document": v.document,
                "title": v.title,
                "version": v.version,
                "stage": v.stage,
                "attempt": v.attempt,
                "sha256": v.sha256,
                "docx": v.docx_path,
                "markdown": v.markdown_path,
                "created_at": v.created_at.isoformat(),
            }
            for v in versions
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not versions:
        typer.echo(f"Project {project_key} has no documents yet.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("Document", "Version", "Stage", "Attempt", "SHA-256", "Word file", "Markdown")
    for v in versions:
        table.add_row(
            v.title,
            f"v{v.version}",
            v.stage or "—",
            str(v.attempt or "—"),
            v.sha256[:12],
            v.docx_path,
            v.markdown_path,
        )
    Console(width=240).print(table)
