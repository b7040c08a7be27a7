"""Hypothesis strategies for fuzzing what people write: change a valid document in a few
places (a value replaced by anything YAML can hold, a field removed, an unknown one added)."""

import copy
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

REMOVE = object()


def fuzz(examples: int) -> settings:
    """Settings of a fuzz test generating `examples` cases: no deadline (the machine may be
    busy), and a test may share its store across cases on purpose (a refusal must change
    nothing in it). The suite's fuzz tests add up to more than a thousand cases a run."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),  # YAML cannot hold lone surrogates
    max_size=40,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    TEXT,
    st.sampled_from(["", " ", "\n", "{{ 7*7 }}", "<script>x</script>", "x" * 5000, "a@b", "1e400"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)
    ),
    max_leaves=6,
)


def paths(document: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a document a person could change: mapping keys and list items."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


def mutated(document: Any, max_changes: int = 4) -> st.SearchStrategy[Any]:
    """`document` with one to `max_changes` changes at random places."""
    places = paths(document)
    change = st.tuples(
        st.sampled_from(places),
        st.one_of(st.just(REMOVE), VALUES, st.tuples(st.just("new key"), TEXT, VALUES)),
    )
    return st.lists(change, min_size=1, max_size=max_changes).map(
        lambda changes: _apply(document, changes)
    )


def _apply(document: Any, changes: list[tuple]) -> Any:
    result = copy.deepcopy(document)
    for place, value in changes:
        parent = result
        for step in place[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break  # an earlier change removed or replaced this place
        else:
            _set(parent, place[-1], value)
    return result


def _set(parent: Any, step: Any, value: Any) -> None:
    try:
        if value is REMOVE:
            del parent[step]
        elif isinstance(value, tuple) and isinstance(parent, dict):
            parent[value[1]] = value[2]  # a field nobody asked for
        elif not isinstance(value, tuple):
            parent[step] = value
    except (KeyError, IndexError, TypeError):
        pass
