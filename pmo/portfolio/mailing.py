"""The portfolio review, mailed to the PMO once per review."""

from pathlib import Path

from pmo.mail import compose_message, send_once
from pmo.portfolio.report import Portfolio
from pmo.store import session_scope
from pmo.templating import render_text
from process_library.portfolio import load_portfolio_policy


def mail_review(portfolio: Portfolio, written: list[Path], review_key: str) -> list[str]:
    """Send each recipient the review's Word file and summary; returns who got it now
    (a re-run of the same review sends nothing again)."""
    recipients = load_portfolio_policy().review_recipients
    docx = [p for p in written if p.suffix == ".docx"]
    body = render_text("email/portfolio-review.txt.j2", {"portfolio": portfolio})
    mailed = []
    with session_scope() as session:
        for recipient in recipients:
            delivery = send_once(
                session,
                key=f"portfolio-review:{review_key}:{recipient}",
                project_id=None,
                message=lambda recipient=recipient: compose_message(
                    to=[recipient],
                    subject=f"Portfolio review: {len(portfolio.ranked)} open project(s)",
                    body=body,
                    message_id_key=f"portfolio-review/{review_key}/{recipient}",
                    attachments=docx,
                ),
            )
            if delivery is not None:
                mailed.append(recipient)
    return mailed
