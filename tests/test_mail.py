"""The outbox, Message-IDs and address checks of pmo.mail, without any server."""

import email
import email.policy
import re
from pathlib import Path

import pytest

from pmo import files
from pmo.errors import PmoInputError
from pmo.mail import compose_message, deliver, read_outbox
from pmo.settings import get_settings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def outbox_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PMO_HOME", str(tmp_path))
    monkeypatch.delenv("PMO_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "outbox"
    get_settings.cache_clear()


def gate_notice(subject: str = "Gate G1 is waiting · Ворота G1", body: str = "Решение?") -> object:
    return compose_message(
        to=["dana.reyes@example.com"], subject=subject, body=body, message_id_key="APOLLO/G1/1"
    )


def test_outbox_holds_one_file_per_message_however_often_it_is_delivered(outbox_home: Path):
    first = deliver(gate_notice())
    second = deliver(gate_notice())

    assert first == second
    assert first.transport == "outbox"
    assert [str(path) for path in outbox_home.iterdir()] == [first.location]
    # a message may carry an approval code: only its owner may read the file
    assert Path(first.location).stat().st_mode & 0o777 == 0o600
    assert Path(first.location).name.endswith("-gate-g1-is-waiting-ворота-g1.eml")
    [received] = read_outbox()
    assert received["Subject"] == "Gate G1 is waiting · Ворота G1"
    assert received["To"] == "dana.reyes@example.com"
    assert received.get_content().strip() == "Решение?"


def test_a_resend_under_a_new_subject_replaces_the_old_file(outbox_home: Path):
    deliver(gate_notice(subject="Gate G1 is waiting"))
    second = deliver(gate_notice(subject="Reminder: gate G1 is waiting"))

    assert [str(path) for path in outbox_home.iterdir()] == [second.location]


def test_a_crash_while_writing_leaves_the_outbox_as_it_was(
    outbox_home: Path, monkeypatch: pytest.MonkeyPatch
):
    delivered = deliver(gate_notice(body="first"))

    def crash(*args: object) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError, match="disk went away"):
        deliver(gate_notice(body="second"))

    assert [str(path) for path in outbox_home.iterdir()] == [delivered.location]
    assert read_outbox(outbox_home)[0].get_content().strip() == "first"


def test_message_id_is_the_same_for_the_same_key_and_differs_across_keys():
    one = compose_message(to=["a@example.com"], subject="x", body="y", message_id_key="K/1")
    again = compose_message(to=["a@example.com"], subject="z", body="w", message_id_key="K/1")
    other = compose_message(to=["a@example.com"], subject="x", body="y", message_id_key="K/2")

    assert one["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert re.fullmatch(r"<[0-9a-f]{32}@pmo-flows>", one["Message-ID"])
    assert one["From"] == get_settings().mail_from
    assert one["Date"]


def test_attachments_carry_their_mime_types(tmp_path: Path):
    pack = tmp_path / "APOLLO-G1 gate pack.docx"
    pack.write_bytes(b"PK\x03\x04 not really a docx")
    notes = tmp_path / "notes.md"
    notes.write_text("# Заметки\n", encoding="utf-8")

    message = compose_message(
        to=["a@example.com"], subject="s", body="b", message_id_key="k", attachments=[pack, notes]
    )

    docx, markdown = message.iter_attachments()
    assert docx.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert docx.get_filename() == pack.name
    assert docx.get_content() == pack.read_bytes()
    assert markdown.get_content_type() == "text/markdown"
    assert markdown.get_content() == "# Заметки\n"


@pytest.mark.parametrize("address", ["x@", "not-an-address", "Dana <dana@example.com>"])
def test_an_invalid_address_is_one_line_naming_it(address: str):
    with pytest.raises(PmoInputError) as raised:
        compose_message(to=["ok@example.com", address], subject="s", body="b", message_id_key="k")

    assert str(raised.value).startswith(f"email: {address!r} is not a valid email address: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "subject",
    [
        "Ворота G2 ждут решения · 審査待ち 🚦 and a long English tail so that the header folds",
        "Gate  G1   of   Проект «Орион»: " + "решение " * 20,
    ],
)
def test_a_long_non_latin_subject_keeps_every_space(subject: str):
    message = compose_message(to=["a@example.com"], subject=subject, body="b", message_id_key="k")

    raw = message.as_bytes()
    assert raw.isascii()
    assert max(len(line) for line in raw.splitlines()) <= 78
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject


def test_read_outbox_of_a_missing_folder_is_empty(tmp_path: Path):
    assert read_outbox(tmp_path / "nowhere") == []
