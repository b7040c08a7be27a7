"""The ledger's pure parts: what is audited, the canonical form, the entry hash."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from pmo.store.audited import AUDITED, TABLES, canonical_payload, canonical_value
from pmo.store.ledger import GENESIS, entry_hash

pytestmark = pytest.mark.unit

MOMENT = datetime(2027, 2, 1, 9, 30, 0, 123456, tzinfo=UTC)


def test_every_audited_column_exists_and_every_table_leads_to_its_project():
    for name, spec in AUDITED.items():
        table = TABLES[name]
        assert set(spec.columns) <= set(table.c.keys()), name
        if spec.parent is None:
            assert name == "projects"
            continue
        column, parent = spec.parent
        assert parent in AUDITED
        assert {fk.column.table.name for fk in table.c[column].foreign_keys} == {parent}


def test_a_moment_is_the_same_text_in_any_zone_and_without_one():
    paris = MOMENT.astimezone(timezone(timedelta(hours=1)))
    assert canonical_value(MOMENT) == "2027-02-01T09:30:00.123456+00:00"
    assert canonical_value(paris) == canonical_value(MOMENT)
    assert canonical_value(MOMENT.replace(tzinfo=None)) == canonical_value(MOMENT)
    assert canonical_value(MOMENT.replace(microsecond=0)) == "2027-02-01T09:30:00.000000+00:00"


def test_one_amount_is_one_text_however_it_was_typed():
    as_typed = [250000, 250000.0, Decimal("250000"), Decimal("250000.00"), Decimal("2.5E+5")]
    assert {canonical_value(v) for v in as_typed} - {250000} == {"250000"}
    assert canonical_value(Decimal("1234.50")) == "1234.5"
    assert canonical_value(Decimal("0.00")) == "0"


def test_a_document_like_value_is_kept_as_the_digest_of_its_content():
    first = canonical_value({"b": [1, 2], "a": "é"})
    assert first == canonical_value({"a": "é", "b": [1, 2]})
    assert first.startswith("sha256:") and first != canonical_value({"a": "é", "b": [2, 1]})


def test_a_payload_is_sorted_compact_json_of_the_audited_columns_only():
    row = {"decision": "go", "accepted": True, "comment": None, "secret": "x"}
    payload = canonical_payload(row, ("decision", "accepted", "comment"))
    assert payload == '{"accepted":true,"comment":null,"decision":"go"}'


def test_an_unknown_type_is_refused_rather_than_hashed_loosely():
    with pytest.raises(TypeError, match="set"):
        canonical_value({1, 2})


def test_every_field_of_an_entry_changes_its_hash():
    entry = {
        "seq": 1,
        "prev_hash": GENESIS,
        "project_key": "APOLLO",
        "table_name": "gate_decisions",
        "row_id": 7,
        "action": "insert",
        "recorded_at": MOMENT,
        "payload": '{"decision":"go"}',
    }
    changed = {
        "seq": 2,
        "prev_hash": "1" * 64,
        "project_key": "ORION",
        "table_name": "documents",
        "row_id": 8,
        "action": "update",
        "recorded_at": MOMENT + timedelta(microseconds=1),
        "payload": '{"decision":"kill"}',
    }
    original = entry_hash(**entry)
    assert len(original) == 64 and original == entry_hash(**entry)
    for field, value in changed.items():
        assert entry_hash(**{**entry, field: value}) != original, field
