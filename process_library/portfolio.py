"""The portfolio policy: strategic objectives and their weights, the budget envelope per
year, the capacity per role per month, and the score a funding gate needs
(`portfolio.yaml`)."""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from process_library.errors import LifecycleError
from process_library.loader import describe_validation_error, read_yaml
from process_library.schema import Email, Slug

PORTFOLIO_FILE = Path(__file__).parent / "portfolio.yaml"
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Role = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,59}$")]
PersonDays = Annotated[Decimal, Field(ge=0, max_digits=12)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Objective(_Strict):
    key: Slug
    name: str = Field(min_length=1, max_length=200)
    weight: Decimal = Field(gt=0, max_digits=8, description="Share of the money it should get.")


class Envelope(_Strict):
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    years: dict[int, Annotated[Decimal, Field(ge=0, max_digits=18)]] = Field(min_length=1)


class Capacity(_Strict):
    default: dict[Role, PersonDays] = Field(default_factory=dict)
    months: dict[Month, dict[Role, PersonDays]] = Field(default_factory=dict)

    def of(self, role: str, month: str) -> Decimal:
        """Person-days `role` gives projects in `month` ("YYYY-MM"); 0 for a role not listed."""
        override = self.months.get(month, {})
        if role in override:
            return override[role]
        return self.default.get(role, Decimal(0))

    @property
    def roles(self) -> list[str]:
        named = set(self.default) | {role for roles in self.months.values() for role in roles}
        return sorted(named)


class PortfolioPolicy(_Strict):
    """What the organisation wants from its projects and what it can give them."""

    objectives: tuple[Objective, ...] = Field(min_length=1)
    envelope: Envelope
    capacity: Capacity = Field(default_factory=Capacity)
    funding_gate_score: Decimal = Field(ge=0, le=10)
    review_recipients: tuple[Email, ...] = Field(
        default=(), max_length=50, description="Who gets the monthly portfolio review by mail."
    )

    @property
    def objective_keys(self) -> list[str]:
        return [o.key for o in self.objectives]

    def envelope_for(self, year: int) -> Decimal:
        """The money the portfolio may commit in `year`; none for a year the file leaves out."""
        return self.envelope.years.get(year, Decimal(0))


def load_portfolio_policy(path: Path = PORTFOLIO_FILE) -> PortfolioPolicy:
    """The portfolio policy, validated; read afresh so a PMO's edit counts at once."""
    _, data = read_yaml(path, LifecycleError)
    if isinstance(data, dict) and isinstance(data.get("capacity"), dict):
        # YAML reads an unquoted 2027-08 as text but 2027-08-01 as a date: accept both as
        # the month they name, so a PMO need not quote.
        months = data["capacity"].get("months")
        if isinstance(months, dict):
            data["capacity"]["months"] = {_month_text(k): v for k, v in months.items()}
    try:
        policy = PortfolioPolicy.model_validate(data)
    except ValidationError as exc:
        raise LifecycleError(str(path), describe_validation_error(exc, data)) from None
    keys = policy.objective_keys
    if repeated := sorted({k for k in keys if keys.count(k) > 1}):
        raise LifecycleError(f"{path}: objectives", f"repeated: {', '.join(repeated)}")
    return policy


def _month_text(value: object) -> object:
    return value.strftime("%Y-%m") if isinstance(value, date) else value
