"""Settings: the secrets among them never show where settings or a store's URL are printed."""

import pytest

from pmo.settings import PmoSettings, get_settings, redacted_url

pytestmark = pytest.mark.unit

URL = "postgresql+psycopg://pmo:Db-Secret-42@db.example.com:5432/pmo"


def test_passwords_are_masked_wherever_the_settings_are_shown(monkeypatch):
    monkeypatch.setenv("PMO_DATABASE_URL", URL)
    monkeypatch.setenv("PMO_SMTP_PASSWORD", "Smtp-Secret-42")
    get_settings.cache_clear()
    settings = get_settings()
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "Db-Secret-42" not in shown and "Smtp-Secret-42" not in shown
    # what the code uses is still the real thing
    assert settings.store_url == URL
    assert settings.smtp_password.get_secret_value() == "Smtp-Secret-42"
    get_settings.cache_clear()


def test_a_store_url_in_a_message_shows_no_password():
    assert redacted_url(URL) == "postgresql+psycopg://pmo:***@db.example.com:5432/pmo"
    assert redacted_url("postgresql://db/pmo?user=pmo&password=Db-Secret-42") == (
        "postgresql://db/pmo?password=***&user=pmo"
    )
    assert redacted_url("sqlite:////var/pmo/pmo.db") == "sqlite:////var/pmo/pmo.db"
    assert "Db-Secret-42" not in redacted_url("not a url Db-Secret-42")


def test_without_a_database_url_the_store_is_sqlite_under_home(tmp_path):
    settings = PmoSettings(home=tmp_path)
    assert settings.store_url == f"sqlite:///{tmp_path / 'pmo.db'}"
