"""The portfolio policy file: the bundled one validates, and each mistake is one line."""

from pathlib import Path

import pytest
import yaml

from process_library.errors import LifecycleError
from process_library.portfolio import PORTFOLIO_FILE, load_portfolio_policy

pytestmark = pytest.mark.unit


def test_the_bundled_policy_validates():
    policy = load_portfolio_policy()
    assert policy.objective_keys
    assert all(amount >= 0 for amount in policy.envelope.years.values())


def write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(PORTFOLIO_FILE.read_text())
    change(data)
    path = tmp_path / "portfolio.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["envelope"]["years"].update({2027: -5}), "envelope.years.2027"),
        (lambda d: d["capacity"]["default"].update({"analyst": -1}), "capacity.default.analyst"),
        (
            lambda d: d["objectives"][0].update({"weight": 0}),
            "objectives[customer-experience].weight",
        ),
        (lambda d: d.update({"funding_gate_score": 11}), "funding_gate_score"),
        (lambda d: d["objectives"].append(dict(d["objectives"][0])), "objectives"),
    ],
)
def test_a_mistake_is_refused_in_one_line_naming_the_field(tmp_path, change, field):
    path = write(tmp_path, change)
    with pytest.raises(LifecycleError) as refused:
        load_portfolio_policy(path)
    message = str(refused.value)
    assert "\n" not in message
    assert str(path) in message and field in message, message
