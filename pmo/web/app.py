"""The approvers' web app: routes, and the headers every page is sent with.

A review page opens from a review link (`/review/<token>`) or from the approver's inbox
(`/inbox/<token>/gates/<gate id>`); either way the answer is recorded under the review
link mailed to that approver for the gate's current round.
"""

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from pmo.errors import PmoInputError
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, Gate, ReviewLink, utcnow
from pmo.templating import BUNDLED_TEMPLATES, render_html
from pmo.web.deciding import decide
from pmo.web.inbox import waiting_on
from pmo.web.review import review_page
from pmo.web.tokens import csrf_token, inbox_link, inbox_review_link, review_link

# What a page may load and do: its own style sheet, a form posted to itself; no script,
# no frame around it, no address (with its token) given to another site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # A page shows what a personal link opens: no cache keeps it.
    "Cache-Control": "no-store",
}
# A decision's form: three fields of at most 10,000 characters, percent-encoded.
MAX_FORM_BYTES = 400_000
STYLE = Path(BUNDLED_TEMPLATES, "web", "style.css")
DOCUMENT_FORMATS = {"docx": "docx_path", "md": "markdown_path"}


@dataclass(frozen=True)
class Opened:
    """A review page a request may see: its review link, where the page lives, and its
    CSRF token; or `refusal`, the page to show instead."""

    link_id: int | None
    base: str
    csrf: str
    refusal: HTMLResponse | None = None


def create_app() -> FastAPI:
    """The app `pmo up` and `pmo web` serve; it reads the store of this process's settings
    and reaches Prefect (to wake a run) through this process's Prefect settings."""
    app = FastAPI(
        title="pmo-flows: approvers' pages", docs_url=None, redoc_url=None, openapi_url=None
    )

    @app.middleware("http")
    async def secure_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/style.css")
    def style() -> Response:
        return Response(STYLE.read_text(encoding="utf-8"), media_type="text/css")

    @app.get("/review/{token}", response_class=HTMLResponse)
    def show_review(token: str) -> HTMLResponse:
        return _show(_open_review(token))

    @app.post("/review/{token}", response_class=HTMLResponse)
    async def post_review(token: str, request: Request) -> HTMLResponse:
        return await _post(_open_review(token), request)

    @app.get("/review/{token}/documents/{document_id}.{kind}")
    def download_review(token: str, document_id: int, kind: str) -> Response:
        return _download(_open_review(token), document_id, kind)

    @app.get("/inbox/{token}", response_class=HTMLResponse)
    def show_inbox(token: str) -> HTMLResponse:
        with session_scope() as session:
            inbox = inbox_link(session, token)
            if inbox is None or inbox.revoked_at is not None:
                return _link_refused(inbox is not None)
            approver = inbox.approver_email
            gates = waiting_on(session, approver=approver)
        context = {"approver": approver, "gates": gates, "token": token, "now": utcnow()}
        return HTMLResponse(render_html("web/inbox.html.j2", context))

    @app.get("/inbox/{token}/gates/{gate_id}", response_class=HTMLResponse)
    def show_from_inbox(token: str, gate_id: int) -> HTMLResponse:
        return _show(_open_from_inbox(token, gate_id))

    @app.post("/inbox/{token}/gates/{gate_id}", response_class=HTMLResponse)
    async def post_from_inbox(token: str, gate_id: int, request: Request) -> HTMLResponse:
        return await _post(_open_from_inbox(token, gate_id), request)

    @app.get("/inbox/{token}/gates/{gate_id}/documents/{document_id}.{kind}")
    def download_from_inbox(token: str, gate_id: int, document_id: int, kind: str) -> Response:
        return _download(_open_from_inbox(token, gate_id), document_id, kind)

    return app


def _open_review(token: str) -> Opened:
    with session_scope() as session:
        link = review_link(session, token)
        if link is None or link.revoked_at is not None:
            return Opened(None, "", "", _link_refused(link is not None))
        return Opened(link.id, f"/review/{token}", csrf_token(token))


def _open_from_inbox(token: str, gate_id: int) -> Opened:
    with session_scope() as session:
        inbox = inbox_link(session, token)
        if inbox is None or inbox.revoked_at is not None:
            return Opened(None, "", "", _link_refused(inbox is not None))
        link = inbox_review_link(session, inbox, gate_id)
        if link is None or link.revoked_at is not None:
            refusal = _notice(
                "Not for you",
                "No request for this gate's current round was sent to you.",
                404,
            )
            return Opened(None, "", "", refusal)
        return Opened(link.id, f"/inbox/{token}/gates/{gate_id}", csrf_token(token, gate_id))


def _show(opened: Opened, *, notice: str = "", refused: bool = False) -> HTMLResponse:
    if opened.refusal is not None:
        return opened.refusal
    with session_scope() as session:
        page = review_page(session, link_id=opened.link_id)
    context = {
        "page": page,
        "base": opened.base,
        "csrf": opened.csrf,
        "notice": notice,
        "refused": refused,
    }
    return HTMLResponse(
        render_html("web/review.html.j2", context), status_code=422 if refused else 200
    )


async def _post(opened: Opened, request: Request) -> HTMLResponse:
    if opened.refusal is not None:
        return opened.refusal
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _notice("Too long", "The form holds more than a decision can take.", 413)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    # compare_digest: the time taken must not tell how much of a forged value was right.
    if not hmac.compare_digest(opened.csrf.encode(), form.get("csrf", "").encode()):
        return _notice(
            "Not taken",
            "This form did not come from your review page, or the page is out of date. "
            "Open the link in your message again; nothing was recorded.",
            403,
        )
    try:
        decided = await run_in_threadpool(
            decide,
            opened.link_id,
            decision=form.get("decision", ""),
            comment=form.get("comment", "").strip(),
            conditions=form.get("conditions", "").strip(),
            scores=scores_posted(form),
            checks=checks_posted(form),
        )
    except PmoInputError as error:
        return _notice("Not taken", f"{error}. Nothing was recorded.", 400)
    recorded = decided.recorded
    if recorded.refusal is not None:
        notice = f"Your answer was refused: {recorded.refusal.message}."
    elif recorded.outcome is not None:
        notice = f"Your answer is recorded. The gate is decided: {recorded.outcome}."
    else:
        notice = "Your answer is recorded."
    if decided.unreachable:
        minutes = get_settings().gate_sla_interval_minutes
        notice += (
            " The project's run could not be told just now (Prefect does not answer); "
            f"it moves on at the next gate check, within {minutes:g} minutes of Prefect's return."
        )
    return _show(opened, notice=notice, refused=recorded.refusal is not None)


def scores_posted(form: dict[str, str]) -> dict[str, int]:
    """The `score:<criterion>` fields given a value: a whole number from 0 to 10."""
    scores = {}
    for field, value in form.items():
        if field.startswith("score:") and value.strip():
            if not value.strip().isdigit():
                raise PmoInputError(field, f"'{value[:20]}' is not a whole number from 0 to 10")
            scores[field.removeprefix("score:")] = int(value)
    return scores


def checks_posted(form: dict[str, str]) -> dict[str, bool]:
    """The `meets:<criterion>` fields answered yes or no."""
    checks = {}
    for field, value in form.items():
        if field.startswith("meets:") and value.strip():
            if value not in ("yes", "no"):
                raise PmoInputError(field, f"'{value[:20]}' is not yes or no")
            checks[field.removeprefix("meets:")] = value == "yes"
    return checks


def _download(opened: Opened, document_id: int, kind: str) -> Response:
    if opened.refusal is not None:
        return opened.refusal
    with session_scope() as session:
        link = session.get(ReviewLink, opened.link_id)
        gate = session.get(Gate, link.gate_id)
        document = session.get(DocumentRecord, document_id)
        if kind not in DOCUMENT_FORMATS or document is None:
            return _notice("Not found", "This document is not part of this gate.", 404)
        if document.stage_run_id != gate.stage_run_id:
            return _notice("Not found", "This document is not part of this gate.", 404)
        path = Path(getattr(document, DOCUMENT_FORMATS[kind]))
    if not path.is_file():
        return _notice("Not found", "This document's file is not on this machine.", 404)
    return FileResponse(path, filename=path.name)


def _link_refused(known: bool) -> HTMLResponse:
    if known:
        return _notice(
            "Link revoked",
            "This link was revoked. The next message about a gate carries a new one; "
            "the PMO can tell you more. Nothing was recorded.",
            410,
        )
    return _notice(
        "Link not known",
        "This link is not one we sent, or it was cut short. Open it from your message "
        "again, whole; nothing was recorded.",
        404,
    )


def _notice(title: str, text: str, status: int) -> HTMLResponse:
    html = render_html("web/notice.html.j2", {"title": title, "text": text})
    return HTMLResponse(html, status_code=status)
