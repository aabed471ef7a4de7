"""The program YAML schema (pydantic), validated with every error located by path and line.

``docs/program-schema.md`` documents it for program admins. A file is read with
:func:`parse_program`, which returns the validated :class:`ProgramSpec` or raises
:class:`ProgramInvalid` listing every problem with its YAML path and line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
FISCAL_YEAR_START_PATTERN = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(StrEnum):
    FISCAL_YEAR_TO_DATE = "fiscal_year_to_date"
    PREVIOUS_FISCAL_YEAR = "previous_fiscal_year"
    TRAILING_12_MONTHS = "trailing_12_months"
    CALENDAR_QUARTER = "calendar_quarter"
    ALL_TIME = "all_time"


@dataclass(frozen=True)
class MetricInfo:
    """What the schema knows of a metric: whether it needs a period and which params it takes."""

    description: str
    needs_period: bool
    params: frozenset[str] = frozenset()
    required_params: frozenset[str] = frozenset()


METRICS: dict[str, MetricInfo] = {
    "billings": MetricInfo("Billed revenue in the program currency", True, frozenset({"category"})),
    "pipeline_value": MetricInfo("Value of open approved deal registrations", False),
    "certified_people": MetricInfo(
        "People holding a current certification",
        False,
        frozenset({"certification", "role"}),
    ),
    "trained_people": MetricInfo("People who completed a course", False, frozenset({"course"})),
    "competencies": MetricInfo(
        "Competencies or specialisations held", False, frozenset({"competency"})
    ),
    "registered_deals": MetricInfo("Deal registrations submitted", True),
    "approved_deals": MetricInfo("Deal registrations approved", True),
    "closed_won_deals": MetricInfo("Registrations and referrals closed-won", True),
    "nps": MetricInfo("Net promoter score from customer surveys (-100..100)", True),
    "customer_retention": MetricInfo("Share of customers retained, in %", True),
    "activation_rate": MetricInfo(
        "Share of new customers active after the activation days, in %", True
    ),
    "evidence": MetricInfo(
        "Named evidence items recorded by staff (case study, demo station...)",
        False,
        frozenset({"item"}),
        frozenset({"item"}),
    ),
}


class Requirement(Strict):
    """One measurable condition: ``metric`` must reach ``min`` over ``period``."""

    metric: str
    min: Decimal = Field(ge=-100, max_digits=18, decimal_places=2)
    period: Period | None = None
    params: dict[Slug, Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=dict
    )
    label: str | None = Field(default=None, max_length=200)

    @field_validator("metric")
    @classmethod
    def known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(
                f"unknown metric '{value}'; known metrics: {', '.join(sorted(METRICS))}"
            )
        return value


class AnyOf(Strict):
    """A group that holds when at least ``any`` of its requirements hold."""

    any: int = Field(ge=1)
    of: list[Requirement] = Field(min_length=1)
    label: str | None = Field(default=None, max_length=200)


def _requirement_kind(value: Any) -> str:
    if isinstance(value, dict) and "any" in value:
        return "any"
    if isinstance(value, AnyOf):
        return "any"
    return "metric"


RequirementItem = Annotated[
    Annotated[AnyOf, Tag("any")] | Annotated[Requirement, Tag("metric")],
    Discriminator(_requirement_kind),
]


class Commission(Strict):
    sourced: Percent = Decimal(0)
    influenced: Percent = Decimal(0)
    renewal: Percent | None = None


class ReferralFee(Strict):
    """A referral fee: a fixed amount per qualified referral or a % of the first order."""

    fixed: Amount | None = None
    percent_of_first_order: Percent | None = None


class Benefits(Strict):
    discounts: dict[Slug, Percent] = Field(default_factory=dict)
    deal_registration_discount: Percent = Decimal(0)
    commission: Commission | None = None
    mdf_accrual: Percent = Decimal(0)
    deal_protection_days: int = Field(default=0, ge=0, le=730)
    referral_fee: ReferralFee | None = None
    referral_customer_discount: Percent | None = None
    flags: list[Slug] = Field(default_factory=list)


class TierSpec(Strict):
    key: Slug
    name: str = Field(min_length=1, max_length=200)
    gate: Literal["invite_only", "application"] | None = None
    requirements: list[RequirementItem] = Field(default_factory=list)
    benefits: Benefits = Field(default_factory=Benefits)


class TrackSpec(Strict):
    key: Slug
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    tiers: list[TierSpec] = Field(min_length=1)


class Policies(Strict):
    tier_hold: Literal["rest_of_year_and_next", "rest_of_year", "none"] = "rest_of_year_and_next"
    activation_days: int | None = Field(default=None, ge=1, le=3650)
    closed_won_window_months: int = Field(default=6, ge=1, le=60)
    deal_registration_horizon_days: int = Field(default=365, ge=1, le=3650)
    distributor_discount_reduction: Percent = Decimal(0)
    discount_stacking: Literal["add", "compound"] = "add"


Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Band(Strict):
    """A volume band: ``rate`` % applies above ``above`` (in the program currency)."""

    above: Amount
    rate: Percent


class CommissionRule(Strict):
    """A commission rate for the lines it matches; an empty list matches everything."""

    tracks: list[Slug] = Field(default_factory=list)
    tiers: list[Slug] = Field(default_factory=list)
    source: Literal["sourced", "influenced"] | None = None
    categories: list[Slug] = Field(default_factory=list)
    countries: list[Country] = Field(default_factory=list)
    rate: Percent
    renewal_rate: Percent | None = None
    bands: list[Band] = Field(default_factory=list)


class CommissionPolicy(Strict):
    payable: Literal["on_invoice", "on_payment"] = "on_invoice"
    unregistered: Literal["none", "influenced"] = "none"
    rules: list[CommissionRule] = Field(default_factory=list)


class RebateSpec(Strict):
    key: Slug
    name: str = Field(min_length=1, max_length=200)
    period: Literal["month", "quarter", "fiscal_year"] = "quarter"
    tracks: list[Slug] = Field(default_factory=list)
    tiers: list[Slug] = Field(default_factory=list)
    categories: list[Slug] = Field(default_factory=list)
    basis: Literal["all", "above"] = "all"
    bands: list[Band] = Field(min_length=1)


class MdfPolicy(Strict):
    vendor_share: Percent = Decimal(50)
    expiry: Literal["quarter", "fiscal_year", "never"] = "fiscal_year"


class NfrPolicy(Strict):
    category: Slug = "nfr"
    max_units: int = Field(default=2, ge=0, le=1000)
    required_bundle: list[Slug] = Field(default_factory=list)
    discount: Percent = Decimal(0)
    renewal_discount: Percent = Decimal(0)
    eligible_flag: Slug | None = None


class IncentivesSpec(Strict):
    commission: CommissionPolicy = Field(default_factory=CommissionPolicy)
    rebates: list[RebateSpec] = Field(default_factory=list)
    mdf: MdfPolicy = Field(default_factory=MdfPolicy)
    nfr: NfrPolicy | None = None


class ProgramSpec(Strict):
    schema_version: Literal[1] = 1
    key: Slug
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    currency: str = Field(pattern=CURRENCY_PATTERN)
    fiscal_year_start: str = Field(pattern=FISCAL_YEAR_START_PATTERN)
    effective_from: dt.date | None = None
    product_categories: list[Slug] = Field(default_factory=list)
    policies: Policies = Field(default_factory=Policies)
    incentives: IncentivesSpec = Field(default_factory=IncentivesSpec)
    tracks: list[TrackSpec] = Field(min_length=1)

    @property
    def fiscal_year_start_month_day(self) -> tuple[int, int]:
        month, day = self.fiscal_year_start.split("-")
        return int(month), int(day)


PATTERN_MESSAGES = {
    SLUG_PATTERN: "use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or "
    "digit (for example 'gold' or 'ev-sales')",
    CURRENCY_PATTERN: "use a three-letter ISO 4217 currency code in capitals, such as USD or EUR",
    FISCAL_YEAR_START_PATTERN: 'give the month and day the fiscal year starts as "MM-DD", '
    'for example "02-01"',
}

# ---------------------------------------------------------------------------------------------
# Errors located by YAML path and line

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ProgramError:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.path or '(top)'}: {self.message}"


class ProgramInvalid(Exception):
    """The program file is refused; ``errors`` lists every problem found."""

    def __init__(self, errors: list[ProgramError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _DecimalLoader(yaml.SafeLoader):
    """Safe YAML loader that reads floats as exact Decimals (money is never a float)."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal | str:
    text = loader.construct_scalar(node).replace("_", "")  # type: ignore[arg-type]
    try:
        return Decimal(text)
    except InvalidOperation:  # .inf, .nan, 1:30.5: left as text for the schema to refuse
        return text


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)  # type: ignore[arg-type]
    except ValueError:  # 2025-02-30: left as text for the schema to refuse with its path
        return loader.construct_scalar(node)  # type: ignore[arg-type]


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_DecimalLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)

MAX_DEPTH = 64
MAX_VALUES = 100_000


def _structure_error(root: yaml.Node | None) -> ProgramError | None:
    """Refuse what would make walking the data blow up: cyclic aliases, alias bombs, depth."""
    count = 0
    ancestors: set[int] = set()

    def visit(node: yaml.Node, depth: int) -> ProgramError | None:
        nonlocal count
        count += 1
        line = node.start_mark.line + 1
        if id(node) in ancestors:
            return ProgramError("", line, "an alias refers to a value that contains it")
        if depth > MAX_DEPTH:
            return ProgramError("", line, f"values are nested more than {MAX_DEPTH} levels deep")
        if count > MAX_VALUES:
            return ProgramError(
                "", line, f"the file expands to more than {MAX_VALUES} values (check its aliases)"
            )
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            return None
        ancestors.add(id(node))
        for child in children:
            error = visit(child, depth + 1)
            if error is not None:
                return error
        ancestors.discard(id(node))
        return None

    return visit(root, 0) if root is not None else None


def _node_for(root: yaml.Node | None, path: Path) -> tuple[yaml.Node | None, bool]:
    """Walk the composed YAML tree along ``path``; return the deepest node and if it was exact."""
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == part:
                    node = value_node
                    break
            else:
                return node, False
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return node, False
        else:
            return node, False
    return node, True


def _key_node(root: yaml.Node | None, path: Path) -> yaml.Node | None:
    """The node of the mapping key that ends ``path`` (for 'extra field' errors)."""
    parent, exact = _node_for(root, path[:-1])
    if exact and isinstance(parent, yaml.MappingNode):
        for key_node, _ in parent.value:
            if getattr(key_node, "value", None) == path[-1]:
                return key_node
    return None


def _line(root: yaml.Node | None, path: Path, *, key: bool = False) -> int | None:
    node = _key_node(root, path) if key and path else None
    if node is None:
        node, _ = _node_for(root, path)
    return node.start_mark.line + 1 if node is not None else None


def _duplicate_keys(node: yaml.Node | None, path: Path = ()) -> list[tuple[Path, int]]:
    found: list[tuple[Path, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = getattr(key_node, "value", None)
            if key in seen:
                found.append(((*path, key), key_node.start_mark.line + 1))
            seen.add(key)
            found += _duplicate_keys(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, (*path, index))
    return found


def _semantic_errors(spec: ProgramSpec) -> list[tuple[Path, str]]:
    errors: list[tuple[Path, str]] = []
    month, day = spec.fiscal_year_start_month_day
    try:
        dt.date(2001, month, day)  # a non-leap year: 02-29 cannot start a fiscal year
    except ValueError:
        errors.append(
            (("fiscal_year_start",), f"{spec.fiscal_year_start} is not a day of every year")
        )
    categories = set(spec.product_categories)
    track_keys: set[str] = set()
    for t_index, track in enumerate(spec.tracks):
        tpath: Path = ("tracks", t_index)
        if track.key in track_keys:
            errors.append(((*tpath, "key"), f"track key '{track.key}' is used twice"))
        track_keys.add(track.key)
        tier_keys: set[str] = set()
        for r_index, tier in enumerate(track.tiers):
            path: Path = (*tpath, "tiers", r_index)
            if tier.key in tier_keys:
                errors.append(
                    ((*path, "key"), f"tier key '{tier.key}' is used twice in this track")
                )
            tier_keys.add(tier.key)
            if r_index == 0 and tier.gate:
                errors.append(
                    ((*path, "gate"), "the first tier is the entry tier and cannot be gated")
                )
            if r_index == 0 and tier.requirements:
                errors.append(
                    (
                        (*path, "requirements"),
                        "the first tier is the entry tier every new partner starts at; "
                        "it cannot have requirements",
                    )
                )
            for category in tier.benefits.discounts:
                if category not in categories:
                    errors.append(
                        (
                            (*path, "benefits", "discounts", category),
                            f"'{category}' is not one of the program's product_categories "
                            f"({', '.join(sorted(categories)) or 'none declared'})",
                        )
                    )
            fee = tier.benefits.referral_fee
            if fee is not None and (fee.fixed is None) == (fee.percent_of_first_order is None):
                errors.append(
                    (
                        (*path, "benefits", "referral_fee"),
                        "give exactly one of 'fixed' or 'percent_of_first_order'",
                    )
                )
            for q_index, item in enumerate(tier.requirements):
                qpath: Path = (*path, "requirements", q_index)
                if isinstance(item, AnyOf):
                    if item.any > len(item.of):
                        errors.append(
                            (
                                (*qpath, "any"),
                                f"asks for {item.any} of only {len(item.of)} requirements",
                            )
                        )
                    for s_index, sub in enumerate(item.of):
                        errors += _requirement_errors(sub, (*qpath, "of", s_index))
                else:
                    errors += _requirement_errors(item, qpath)
    errors += _incentive_errors(spec, categories, track_keys)
    return errors


def _bands_errors(bands: list[Band], path: Path) -> list[tuple[Path, str]]:
    errors: list[tuple[Path, str]] = []
    for index in range(1, len(bands)):
        if bands[index].above <= bands[index - 1].above:
            errors.append(((*path, index, "above"), "bands must be listed by increasing threshold"))
    return errors


def _incentive_errors(
    spec: ProgramSpec, categories: set[str], track_keys: set[str]
) -> list[tuple[Path, str]]:
    errors: list[tuple[Path, str]] = []
    tier_keys = {tier.key for track in spec.tracks for tier in track.tiers}
    known = ", ".join(sorted(categories)) or "none declared"

    def check(path: Path, tracks, tiers, cats) -> None:
        for i, key in enumerate(tracks):
            if key not in track_keys:
                errors.append(((*path, "tracks", i), f"'{key}' is not a track of this program"))
        for i, key in enumerate(tiers):
            if key not in tier_keys:
                errors.append(((*path, "tiers", i), f"'{key}' is not a tier of this program"))
        for i, key in enumerate(cats):
            if key not in categories:
                errors.append(
                    (
                        (*path, "categories", i),
                        f"'{key}' is not one of the program's product_categories ({known})",
                    )
                )

    for index, rule in enumerate(spec.incentives.commission.rules):
        path: Path = ("incentives", "commission", "rules", index)
        check(path, rule.tracks, rule.tiers, rule.categories)
        errors += _bands_errors(rule.bands, (*path, "bands"))
    seen: set[str] = set()
    for index, rebate in enumerate(spec.incentives.rebates):
        path = ("incentives", "rebates", index)
        if rebate.key in seen:
            errors.append(((*path, "key"), f"rebate key '{rebate.key}' is used twice"))
        seen.add(rebate.key)
        check(path, rebate.tracks, rebate.tiers, rebate.categories)
        errors += _bands_errors(rebate.bands, (*path, "bands"))
    nfr = spec.incentives.nfr
    if nfr is not None and nfr.category not in categories:
        errors.append(
            (
                ("incentives", "nfr", "category"),
                f"'{nfr.category}' is not one of the program's product_categories ({known})",
            )
        )
    if nfr is not None:
        for i, key in enumerate(nfr.required_bundle):
            if key not in categories:
                errors.append(
                    (
                        ("incentives", "nfr", "required_bundle", i),
                        f"'{key}' is not one of the program's product_categories ({known})",
                    )
                )
    return errors


def _requirement_errors(req: Requirement, path: Path) -> list[tuple[Path, str]]:
    errors: list[tuple[Path, str]] = []
    info = METRICS[req.metric]
    if info.needs_period and req.period is None:
        errors.append(((*path, "period"), f"metric '{req.metric}' needs a period"))
    for name in req.params:
        if name not in info.params:
            allowed = ", ".join(sorted(info.params)) or "none"
            errors.append(
                (
                    (*path, "params", name),
                    f"metric '{req.metric}' takes no param '{name}' (takes: {allowed})",
                )
            )
    for name in info.required_params - set(req.params):
        errors.append(((*path, "params"), f"metric '{req.metric}' needs param '{name}'"))
    return errors


def parse_program(source: str) -> ProgramSpec:
    """Parse and validate a program YAML text; raise ProgramInvalid with every error."""
    try:
        root = yaml.compose(source, Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProgramInvalid(
            [ProgramError("", mark.line + 1 if mark else None, f"not valid YAML: {problem}")]
        ) from None
    except RecursionError:
        raise ProgramInvalid(
            [ProgramError("", None, f"values are nested more than {MAX_DEPTH} levels deep")]
        ) from None
    structure = _structure_error(root)
    if structure is not None:
        raise ProgramInvalid([structure])
    try:
        data = yaml.load(source, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProgramInvalid(
            [ProgramError("", mark.line + 1 if mark else None, f"not valid YAML: {problem}")]
        ) from None
    if not isinstance(data, dict):
        raise ProgramInvalid(
            [ProgramError("", 1, "a program file must be a YAML mapping with key, name, tracks...")]
        )
    errors = [
        ProgramError(format_path(p), line, "this key appears twice")
        for p, line in _duplicate_keys(root)
    ]
    try:
        spec = ProgramSpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            # Drop the discriminator tag pydantic inserts after requirements[i] (the only union).
            loc = tuple(
                p
                for i, p in enumerate(loc)
                if not (
                    p in {"any", "metric"}
                    and i > 1
                    and isinstance(loc[i - 1], int)
                    and loc[i - 2] == "requirements"
                )
            )
            is_extra = err["type"] == "extra_forbidden"
            message = "unknown field (not part of the program schema)" if is_extra else err["msg"]
            if err["type"] == "value_error":
                message = str((err.get("ctx") or {}).get("error", message))
            if err["type"] == "string_pattern_mismatch":
                pattern = (err.get("ctx") or {}).get("pattern", "")
                message = PATTERN_MESSAGES.get(pattern, message)
            errors.append(ProgramError(format_path(loc), _line(root, loc, key=is_extra), message))
        raise ProgramInvalid(errors) from None
    errors += [
        ProgramError(format_path(p), _line(root, p, key=True), m) for p, m in _semantic_errors(spec)
    ]
    if errors:
        raise ProgramInvalid(errors)
    return spec


def source_line(source: str, path: Path) -> int | None:
    """The line of the key ending ``path`` in a program text (None when it is not there)."""
    try:
        node = _key_node(yaml.compose(source, Loader=_DecimalLoader), path)
    except (yaml.YAMLError, RecursionError):
        return None
    return node.start_mark.line + 1 if node is not None else None
