"""`pmo library validate`: check lifecycle definitions before projects run them."""

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The process library: lifecycles as data.", no_args_is_help=True)


@app.command()
def validate(
    path: Annotated[
        Path | None, typer.Argument(help="A lifecycle file or folder; default: the library.")
    ] = None,
) -> None:
    """Validate one lifecycle file or every lifecycle in a folder, with the communication
    policy, the audit checklist each names and the document templates each will render
    (PMO_TEMPLATES_DIR first), and the portfolio audit report's template."""
    from pmo.documents.versions import check_lifecycle_templates
    from pmo.templating import check_template
    from process_library.checklist import load_checklist
    from process_library.communication import load_communication_policy
    from process_library.loader import validate_library

    load_communication_policy()
    for loaded in validate_library(path):
        stages = loaded.lifecycle.stages
        checklist = load_checklist(loaded.lifecycle.audit_checklist)
        templates = check_lifecycle_templates(loaded.lifecycle)
        typer.echo(
            f"ok  {loaded.lifecycle.name} (version {loaded.version}): {len(stages)} stages, "
            f"{len(stages)} gates, roles {', '.join(sorted(loaded.lifecycle.approver_roles))}, "
            f"audit checklist {checklist.name}, {len(templates)} document templates"
        )
    # The report is rendered by the daily audit, long after a PMO edits its template.
    report = check_template("portfolio-audit.md.j2")
    typer.echo(f"ok  portfolio audit report template ({report})")
