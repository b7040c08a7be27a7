"""The approvers' web app: routes, and the headers every page is sent with."""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from pmo.errors import PmoInputError
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, Gate
from pmo.templating import BUNDLED_TEMPLATES, render_html
from pmo.web.deciding import UnknownLink, decide
from pmo.web.review import review_page
from pmo.web.tokens import csrf_matches, csrf_token, review_link

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


def create_app() -> FastAPI:
    """The app `pmo up` and `pmo web` serve; it reads the store of this process's settings
    and reaches Prefect (to wake a run) through this process's Prefect settings."""
    app = FastAPI(
        title="pmo-flows: approvers' pages",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
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
        return _review(token)

    @app.post("/review/{token}", response_class=HTMLResponse)
    async def post_review(token: str, request: Request) -> HTMLResponse:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return _notice("Too long", "The form holds more than a decision can take.", 413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if not csrf_matches(token, form.get("csrf", "")):
            return _notice(
                "Not taken",
                "This form did not come from your review page, or the page is out of date. "
                "Open the link in your message again; nothing was recorded.",
                403,
            )
        try:
            decided = await run_in_threadpool(
                decide,
                token,
                decision=form.get("decision", ""),
                comment=form.get("comment", "").strip(),
                conditions=form.get("conditions", "").strip(),
            )
        except UnknownLink:
            return _unknown_link()
        except PmoInputError as error:
            return _notice("Not taken", f"{error}. Nothing was recorded.", 400)
        recorded = decided.recorded
        if recorded.refusal is not None:
            notice = f"Your answer was refused: {recorded.refusal.message}."
        elif recorded.outcome is not None:
            notice = f"Your answer is recorded. The gate is decided: {recorded.outcome}."
        else:
            notice = "Your answer is recorded."
        return _review(token, notice=notice, refused=recorded.refusal is not None)

    @app.get("/review/{token}/documents/{document_id}.{kind}")
    def download(token: str, document_id: int, kind: str) -> Response:
        with session_scope() as session:
            link = review_link(session, token)
            document = session.get(DocumentRecord, document_id)
            gate = session.get(Gate, link.gate_id) if link else None
            if link is None or kind not in DOCUMENT_FORMATS:
                return _unknown_link()
            if document is None or document.stage_run_id != gate.stage_run_id:
                return _notice("Not found", "This document is not part of this gate.", 404)
            path = Path(getattr(document, DOCUMENT_FORMATS[kind]))
        if not path.is_file():
            return _notice("Not found", "This document's file is not on this machine.", 404)
        return FileResponse(path, filename=path.name)

    return app


def _review(token: str, *, notice: str = "", refused: bool = False) -> HTMLResponse:
    with session_scope() as session:
        link = review_link(session, token)
        if link is None:
            return _unknown_link()
        page = review_page(session, link=link)
    html = render_html(
        "web/review.html.j2",
        {
            "page": page,
            "token": token,
            "csrf": csrf_token(token),
            "notice": notice,
            "refused": refused,
        },
    )
    return HTMLResponse(html, status_code=422 if refused else 200)


def _unknown_link() -> HTMLResponse:
    return _notice(
        "Link not known",
        "This link is not one we sent, or it was cut short. Open it from your message "
        "again, whole; nothing was recorded.",
        404,
    )


def _notice(title: str, text: str, status: int) -> HTMLResponse:
    html = render_html("web/notice.html.j2", {"title": title, "text": text})
    return HTMLResponse(html, status_code=status)
