"""`pmo library handbook`: a lifecycle as a guide for the project managers who run it.

Markdown and Word through the one document path, with a stage-and-gate diagram: each
stage's purpose, activities, documents, gate criteria, who decides, timing, tolerances,
and the tailoring rules with what each changes.
"""

from pathlib import Path
from urllib.parse import quote

from pmo.documents.docx import DocumentHeader
from pmo.documents.handbook_diagram import draw_stage_gate_diagram
from pmo.documents.output import WrittenDocument, write_document
from pmo.files import write_atomically
from pmo.store.models import utcnow
from pmo.templating import MarkdownText
from process_library.loader import LoadedLifecycle
from process_library.schema import DOCUMENT_TITLES, TailoringRule
from process_library.tailoring import load_categories

HANDBOOK_TEMPLATE = "handbook.md.j2"


def write_handbook(loaded: LoadedLifecycle, out: Path) -> WrittenDocument:
    """Write `<name>-handbook.md`, `.docx` and its diagram (`-stage-gate-diagram.png`)."""
    lifecycle = loaded.lifecycle
    stem = f"{lifecycle.name}-handbook"
    diagram = f"{stem}-stage-gate-diagram.png"
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / diagram, draw_stage_gate_diagram(lifecycle))
    return write_document(
        out,
        stem,
        template=HANDBOOK_TEMPLATE,
        context={
            "lifecycle": lifecycle,
            "version": loaded.version,
            "generated_at": utcnow(),
            "diagram": MarkdownText(quote(diagram)),
            "document_titles": DOCUMENT_TITLES,
            "categories": load_categories().categories,
            "rule_changes": {rule.key: rule_changes(rule) for rule in lifecycle.tailoring},
            "applies_to": {rule.key: applies_to(rule) for rule in lifecycle.tailoring},
        },
        header=DocumentHeader(
            project="Project handbook",
            document=lifecycle.title,
            version=loaded.version,
            lifecycle=f"{lifecycle.name} @ {loaded.version}",
        ),
    )


def rule_changes(rule: TailoringRule) -> list[str]:
    """What a tailoring rule changes, in words."""
    changes = [f"no {DOCUMENT_TITLES[key]}" for key in rule.drop_documents]
    changes += [f"{DOCUMENT_TITLES[d.key]} in {d.stage}" for d in rule.add_documents]
    changes += [f"criterion {key} not asked" for key in rule.drop_criteria]
    changes += [f"{role} approves every stage gate" for role in rule.add_approvers]
    if rule.reporting_every_days:
        changes.append(f"status every {rule.reporting_every_days} days")
    if rule.tolerance_factor:
        changes.append(f"tolerances × {rule.tolerance_factor:g}")
    return changes


def applies_to(rule: TailoringRule) -> str:
    """`tier small, risk high`: the projects a rule applies to."""
    when = rule.when
    facets = [
        (name, values)
        for name, values in (("tier", when.tier), ("category", when.category), ("risk", when.risk))
        if values
    ]
    return ", ".join(f"{name} {' or '.join(values)}" for name, values in facets)
