"""A task retries only when the store was unavailable; a flow's own reads do the same."""

import pytest
from prefect.states import Completed, Failed

from pmo.errors import PmoInputError
from pmo.store.engine import StoreUnavailable
from tasks import retries
from tasks.retries import STORE_RETRIES, retried_while_unavailable, store_was_unavailable

pytestmark = pytest.mark.unit


def test_only_an_unavailable_store_is_retried():
    assert store_was_unavailable(None, None, Failed(data=StoreUnavailable("the store is away")))
    assert not store_was_unavailable(None, None, Failed(data=PmoInputError("brief", "bad key")))
    assert not store_was_unavailable(None, None, Failed(data=KeyError("our bug")))
    assert not store_was_unavailable(None, None, Completed(data=1))
    assert STORE_RETRIES["retries"] == len(STORE_RETRIES["retry_delay_seconds"])


def test_a_read_outside_tasks_is_retried_while_the_store_is_away(monkeypatch):
    monkeypatch.setattr(retries, "STORE_RETRY_DELAYS", [0, 0, 0])
    calls = []

    @retried_while_unavailable
    def where_it_stands(key: str) -> str:
        calls.append(key)
        if len(calls) < 3:
            raise StoreUnavailable("the store is away")
        return f"{key}: planning"

    assert where_it_stands("APOLLO") == "APOLLO: planning"
    assert calls == ["APOLLO"] * 3

    @retried_while_unavailable
    def never_back() -> None:
        calls.append("again")
        raise StoreUnavailable("the store is away")

    calls.clear()
    with pytest.raises(StoreUnavailable):
        never_back()
    assert len(calls) == 4  # the first try and one after each delay


def test_a_mistake_is_not_retried(monkeypatch):
    monkeypatch.setattr(retries, "STORE_RETRY_DELAYS", [0, 0])
    calls = []

    @retried_while_unavailable
    def refused() -> None:
        calls.append(1)
        raise PmoInputError("RUN_ID", "not a run id")

    with pytest.raises(PmoInputError):
        refused()
    assert calls == [1]
