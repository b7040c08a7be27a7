"""`pmo library`: the process library's lifecycles: validate them, compare two versions,
move a running project onto another version, write a lifecycle's handbook."""

import json
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
    policy, the project categories, the portfolio policy, the audit checklist each names and
    the document templates each will render (PMO_TEMPLATES_DIR first), and the report and
    handbook templates."""
    from pmo.documents.versions import check_lifecycle_templates
    from pmo.templating import check_template
    from process_library.checklist import load_checklist
    from process_library.communication import load_communication_policy
    from process_library.loader import validate_library
    from process_library.portfolio import load_portfolio_policy
    from process_library.tailoring import load_categories

    load_communication_policy()
    categories = load_categories()
    portfolio = load_portfolio_policy()
    for loaded in validate_library(path):
        lifecycle = loaded.lifecycle
        checklist = load_checklist(lifecycle.audit_checklist)
        templates = check_lifecycle_templates(lifecycle)
        repeated = [f"{s.key} per {s.repeat.for_each}" for s in lifecycle.repeated_stages]
        typer.echo(
            f"ok  {lifecycle.name} (version {loaded.version}): {len(lifecycle.stages)} stages"
            + (f" ({', '.join(repeated)})" if repeated else "")
            + f", {len(lifecycle.gates)} gates, roles {', '.join(sorted(lifecycle.approver_roles))}"
            f", {len(lifecycle.tailoring)} tailoring rules, audit checklist {checklist.name}, "
            f"{len(templates)} document templates"
        )
    typer.echo(f"ok  project categories: {', '.join(categories.keys)}")
    years = ", ".join(str(year) for year in sorted(portfolio.envelope.years))
    typer.echo(
        f"ok  portfolio policy: {len(portfolio.objectives)} strategic objectives, "
        f"envelope for {years}, capacity for {len(portfolio.capacity.roles)} roles, "
        f"funding gate score {portfolio.funding_gate_score}"
    )
    # The report is rendered by the daily audit, long after a PMO edits its template.
    report = check_template("portfolio-audit.md.j2")
    typer.echo(f"ok  portfolio audit report template ({report})")
    typer.echo(f"ok  handbook template ({check_template('handbook.md.j2')})")


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="A lifecycle file, a folder, or a git revision.")],
    new: Annotated[str, typer.Argument(help="A lifecycle file, a folder, or a git revision.")],
    as_json: Annotated[bool, typer.Option("--json", help="The changes as JSON.")] = False,
) -> None:
    """What changed between two versions of the library, in a PMO's words: stages, gates,
    criteria, approver roles, quorum, timing, documents, tolerances, tailoring. OLD and NEW
    are each a lifecycle file, a folder of them, a git revision of the library (main,
    HEAD~1, a tag) or a file at a revision (REV:process_library/lifecycles/prince2.yaml)."""
    from process_library.diff import diff_libraries
    from process_library.revisions import lifecycles_at

    found = diff_libraries(lifecycles_at(old, "OLD"), lifecycles_at(new, "NEW"))
    if as_json:
        typer.echo(
            json.dumps(
                {"old": old, "new": new, "lifecycles": [d.as_json() for d in found]}, indent=2
            )
        )
        return
    marks = {"added": "+", "removed": "-", "changed": "~"}
    for lifecycle in found:
        if lifecycle.status == "added":
            typer.echo(f"{lifecycle.name}: new lifecycle (version {lifecycle.new_version})")
        elif lifecycle.status == "removed":
            typer.echo(f"{lifecycle.name}: removed (was version {lifecycle.old_version})")
        elif lifecycle.status == "unchanged":
            typer.echo(f"{lifecycle.name}: unchanged (version {lifecycle.new_version})")
        else:
            count = len(lifecycle.changes)
            typer.echo(
                f"{lifecycle.name}: {lifecycle.old_version} → {lifecycle.new_version}, "
                f"{count} change{'s' if count != 1 else ''}"
            )
            for change in lifecycle.changes:
                typer.echo(f"  {marks[change.kind]} {change.what}")


@app.command()
def migrate(
    project: Annotated[str, typer.Option(help="The key of the running project to move.")],
    to: Annotated[
        str,
        typer.Option(
            help="A lifecycle file, a lifecycle of the library (prince2), or a version: "
            "8a9c3e1f2b7d (of the project's lifecycle) or prince2@8a9c3e1f2b7d."
        ),
    ],
    as_: Annotated[
        str, typer.Option("--as", help="You: a PMO contact of the project's lifecycle.")
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="OLD=NEW: a stage or gate key and its counterpart; repeat it."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why the project moves; goes on the record.")] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; record nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The plan as JSON.")] = False,
) -> None:
    """Move a running project onto another lifecycle version: show where it stands and what
    it gains and loses ahead, then pin the new version (on the ledger, with who did it).
    The running flow follows it from the project's next gate."""
    from pmo.methodology.migration import migrate, parse_mapping

    plan = migrate(
        project_key=project,
        to=to,
        mapping=parse_mapping(map_ or []),
        by=as_,
        reason=reason,
        dry_run=dry_run,
    )
    if as_json:
        typer.echo(json.dumps({**plan.as_json(), "recorded": not dry_run}, indent=2))
        return
    typer.echo(f"Project {plan.project} ({plan.name}): {plan.old.label} → {plan.new_label}")
    standing = plan.standing
    if standing is None:
        typer.echo("  Stands before its first stage: it runs the new version from the start.")
    else:
        typer.echo(f"  Stands in: {standing.describe()}")
        if plan.moves_now:
            typer.echo(
                f"  {standing.stage_name} moves onto the new version now: its next status "
                "updates, its documents and its gate follow it."
            )
        elif standing.under_way:
            typer.echo(
                f"  {standing.stage_name} finishes under {plan.old.label} (its approvers were "
                f"asked under it); the new version governs from the next stage on."
            )
        typer.echo(f"  Counterpart in the new version: {plan.entry_stage}")
    for old_key, new_key in plan.mapping.items():
        typer.echo(f"  Mapped: {old_key} → {new_key}")
    typer.echo(f"  Gains ahead: {', '.join(plan.gains) or 'nothing'}")
    typer.echo(f"  Loses ahead: {', '.join(plan.loses) or 'nothing'}")
    if plan.changes:
        typer.echo("  Changes ahead:")
        marks = {"added": "+", "removed": "-", "changed": "~"}
        for change in plan.changes:
            typer.echo(f"    {marks[change.kind]} {change.what}")
    else:
        typer.echo("  Changes ahead: none")
    if dry_run:
        typer.echo("Dry run: nothing recorded.")
    else:
        typer.echo(f"Pinned {plan.new_label} on {plan.project} for {as_} (on the audit ledger).")


@app.command()
def handbook(
    name: Annotated[
        str | None, typer.Argument(help="A lifecycle of the library; default: every one.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder the handbooks are written to.")] = Path(
        "handbooks"
    ),
) -> None:
    """Write a lifecycle as a guide for project managers (Markdown and Word, with a
    stage-and-gate diagram): each stage's purpose, activities, documents, gate criteria,
    who decides, timing and tolerances, and how it is tailored."""
    from pmo.documents.handbook import write_handbook
    from process_library.loader import available_lifecycles, load_lifecycle

    for lifecycle in [name] if name else available_lifecycles():
        written = write_handbook(load_lifecycle(lifecycle), out)
        typer.echo(f"{lifecycle}: {written.markdown_path} and {written.docx_path.name}")
