"""Links into the Prefect UI and to the approvers' pages, for emails, documents and the CLI."""

from pmo.settings import get_settings, prefect_setting


def ui_base_url() -> str | None:
    """The Prefect UI's address: PMO_UI_URL, else Prefect's own, else derived from the API."""
    if configured := get_settings().ui_url:
        return configured.rstrip("/")
    if ui := prefect_setting("PREFECT_UI_URL"):
        return str(ui).rstrip("/")
    api = prefect_setting("PREFECT_API_URL")
    return str(api).rstrip("/").removesuffix("/api") if api else None


def flow_run_url(run_id: object) -> str:
    base = ui_base_url()
    return f"{base}/runs/flow-run/{run_id}" if base else f"flow run {run_id}"


def review_url(token: str) -> str:
    """An approver's personal link to a gate round's review page."""
    return f"{get_settings().resolved_web_url}/review/{token}"


def inbox_url(token: str) -> str:
    """An approver's personal link to their inbox: every gate waiting on them."""
    return f"{get_settings().resolved_web_url}/inbox/{token}"
