"""Every setting pmo-flows reads, in one pydantic-settings class (environment `PMO_*`).

The secrets among them (the store's URL, which may hold its password, and the SMTP
password) are `SecretStr`: shown as `**********` wherever the settings are printed or
logged; `redacted_url` is the one way to name the store in a message.
"""

import os
import sys
import tomllib
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PmoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMO_", extra="ignore")

    home: Path = Field(
        default=Path("~/.pmo"), description="Folder for the store, documents and outbox."
    )
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL of the store; SQLite under `home` when unset."
    )
    documents_dir: Path | None = Field(
        default=None, description="Where documents are written; `home/documents` when unset."
    )
    templates_dir: Path | None = Field(
        default=None, description="A PMO's own templates; each file here overrides the bundled one."
    )
    reference_docx: Path | None = Field(
        default=None, description="Word file whose styles every .docx uses (corporate look)."
    )

    smtp_host: str | None = Field(default=None, description="SMTP server; outbox folder if unset.")
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "pmo-flows <pmo-flows@localhost>"

    ui_url: str | None = Field(
        default=None, description="Prefect UI base URL used in links; derived from the API URL."
    )
    port: int = Field(default=4200, description="Port of the server that `pmo up` runs.")
    web_port: int = Field(
        default=4300, description="Port of the approvers' pages that `pmo up` serves."
    )
    web_url: str | None = Field(
        default=None,
        description="Base URL of the approvers' pages in mails (behind a proxy, the proxy's "
        "address); `http://127.0.0.1:<web_port>` when unset.",
    )
    web_secret: SecretStr | None = Field(
        default=None,
        description="Key of the review pages' CSRF tokens; every instance of `pmo web` behind "
        "one proxy needs the same. Unset: one kept in `home/web-secret`.",
    )
    server_auth: bool = Field(
        default=False,
        description="`pmo up` and `pmo demo` start a Prefect server that requires basic "
        "authentication with the credentials in PREFECT_API_AUTH_STRING.",
    )
    resumer_slots: int = Field(
        default=4,
        ge=1,
        description="How many resumed runs one resumer (`pmo up`, `pmo resumer`) runs at once; "
        "a run found with every slot taken is left to a later poll or another runner.",
    )
    gate_poll_seconds: float = Field(
        default=1.0, description="How often a paused (not suspended) run checks for an answer."
    )
    gate_sla_interval_minutes: float = Field(
        default=15, gt=0, description="How often `pmo up` checks gates for reminders and SLAs."
    )
    audit_cron: str = Field(
        default="0 6 * * *", description="When `pmo up` runs the daily pmo-audit (cron, UTC)."
    )
    portfolio_review_cron: str = Field(
        default="0 7 1 * *",
        description="When `pmo up` runs the portfolio review (cron, UTC): monthly by default.",
    )
    gate_pause_timeout_seconds: int = Field(
        default=7 * 24 * 3600, description="How long a paused (not suspended) run waits at a gate."
    )

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser()

    @property
    def store_url(self) -> str:
        """The store's URL, password included: for opening it, never for a message."""
        if self.database_url and (url := self.database_url.get_secret_value()):
            return url
        return f"sqlite:///{self.resolved_home / 'pmo.db'}"

    @property
    def outbox_dir(self) -> Path:
        return self.resolved_home / "outbox"

    @property
    def mail_queue_dir(self) -> Path:
        """Messages the SMTP server could not take yet; sent when it is back."""
        return self.outbox_dir / "queued"

    @property
    def resolved_documents_dir(self) -> Path:
        return (self.documents_dir or self.resolved_home / "documents").expanduser()

    @property
    def resolved_web_url(self) -> str:
        return (self.web_url or f"http://127.0.0.1:{self.web_port}").rstrip("/")

    @property
    def default_api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


@lru_cache
def get_settings() -> PmoSettings:
    """The settings of this process; `get_settings.cache_clear()` after changing the environment."""
    return PmoSettings()


def redacted_url(url: str) -> str:
    """A database URL fit for a message: `postgresql://pmo:***@db:5432/pmo`, read the way
    SQLAlchemy reads it (a password in the query string is hidden too)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(a database URL that cannot be read)"
    hidden = {key: "***" for key in parsed.query if "password" in key.lower()}
    shown = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
    return shown.replace("%2A%2A%2A", "***")


def prefect_setting(name: str) -> str | None:
    """A Prefect setting as Prefect would resolve it, without importing Prefect for it.

    Once Prefect is loaded its settings are the truth (they include `temporary_settings`).
    Otherwise the environment wins, as in Prefect, then the active profile; a project
    file that can configure Prefect (.env, prefect.toml, pyproject's [tool.prefect]) is
    left to Prefect itself to read.
    """
    if "prefect.settings" not in sys.modules and not _project_configures_prefect():
        if name in os.environ:
            return os.environ[name] or None
        return _profile_value(name)
    import prefect.settings

    return getattr(prefect.settings, name).value() or None


def _project_configures_prefect() -> bool:
    here = Path.cwd()
    if (here / ".env").is_file() or (here / "prefect.toml").is_file():
        return True
    pyproject = here / "pyproject.toml"
    return pyproject.is_file() and "[tool.prefect" in pyproject.read_text(encoding="utf-8")


def _profile_value(name: str) -> str | None:
    """`name` in Prefect's active profile: its own profiles under the user's file, merged
    per profile as Prefect merges them."""
    spec = find_spec("prefect")  # finds the package without importing it
    folder = Path(next(iter(spec.submodule_search_locations))) if spec else None
    defaults = _read_toml(folder / "settings" / "profiles.toml") if folder else {}
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    user = _read_toml(path)
    active = os.environ.get("PREFECT_PROFILE") or user.get("active") or defaults.get("active")
    profile = {
        **defaults.get("profiles", {}).get(active, {}),
        **user.get("profiles", {}).get(active, {}),
    }
    value = profile.get(name)
    return str(value) if value else None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
