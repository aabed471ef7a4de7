"""Every write of the settlement: contracts, settlement runs (drafts re-run set-based by
``compute.compute_month``), finalisation with gapless numbers, and payments.

Services are keyword-only, run in one transaction, validate fully before writing and raise
ServiceError / Conflict naming the field. Permission checks are the caller's job.

Rules (``docs/settlements.md``, rounding in ``docs/money.md``):

- A contract is in force from the first day of its start month to the last day of its end
  month; an auto-renewing one continues past its end month until ``terminated_after``. A
  partner's contracts never overlap.
- Re-running a month deletes and recomputes its drafts (same data → same figures). Final
  statements are numbered ``ST-YYYY-NNNNN`` (YYYY = the statement's month's year; gapless
  per year, from a locked counter row) and never change: any change answers 409.
- A session is on at most one final statement (per kind: hosted revenue / corporate charge);
  a late session of a closed month is settled by the next run of a later month as an
  adjustment line.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.events import emit
from partnerhub.core.money import from_minor, minor_digits, to_minor
from partnerhub.settlements.compute import (
    InputsGone,
    compute_month,
    forget_inputs,
    materialise,
    month_start,
)
from partnerhub.settlements.models import (
    PARTNER_OPTIONS,
    REMOTE_PERMISSIONS,
    Contract,
    Payment,
    PaymentDirection,
    RunStatus,
    SessionSettlement,
    SettlementRun,
    Statement,
    StatementCounter,
    StatementStatus,
)

MAX_MINOR = 10**13
MAX_RATE = Decimal("1000000")
RUN_LOCK_YEAR = 0  # StatementCounter row serialising settlement runs and finalisations
FLAGS = tuple(name for name, _ in REMOTE_PERMISSIONS + PARTNER_OPTIONS) + (
    "auto_renew",
    "exclude_connection_fee",
    "deduct_electricity",
    "reimburse_electricity",
)
PERCENTS = ("ac_share_percent", "dc_share_percent", "handling_fee_percent", "vat_percent")
KWH_FEES = ("kwh_fee_ac", "kwh_fee_dc")
MINOR_FEES = (
    "session_fee_ac",
    "session_fee_dc",
    "platform_fee_charge_point",
    "platform_fee_ac_evse",
    "platform_fee_dc_evse",
)


# --- months ------------------------------------------------------------------------------------


def parse_month(value: Any, *, field: str = "month") -> dt.date:
    """``2026-10``, ``2026-10-01`` or a date → the first day of that month."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value or "").strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if not m:
        raise ServiceError("Give a month as YYYY-MM.", field=field)
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
    except ValueError:
        raise ServiceError("Give a month as YYYY-MM.", field=field) from None
    if m.group(3) and day.day != 1:
        raise ServiceError("Give a month (YYYY-MM) or its first day.", field=field)
    if day.year < 2000 or day.year > 2999:
        raise ServiceError("The month must be between 2000 and 2999.", field=field)
    return day


def last_day(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


# --- contracts ---------------------------------------------------------------------------------


def _decimal(data: dict, name: str, *, high: Decimal, places: int) -> Decimal:
    try:
        value = Decimal(str(data.get(name, 0) if data.get(name) is not None else 0))
    except (InvalidOperation, ValueError):
        raise ServiceError("Give a number.", field=name) from None
    if not value.is_finite() or value < 0 or value > high:
        raise ServiceError(f"Give a number between 0 and {high}.", field=name)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ServiceError(f"Use at most {places} decimal places.", field=name)
    return value


def _clean_contract(data: dict, current: Contract | None) -> dict:
    """The validated field values of a contract (``data`` over ``current``'s)."""
    out: dict[str, Any] = {}
    base = {}
    if current is not None:
        base = {f.name: getattr(current, f.name) for f in Contract._meta.concrete_fields}
        for name in MINOR_FEES:
            base[name] = None  # amounts come back in major units below
    merged = {**base, **data}
    name = str(merged.get("name") or "").strip()
    if not name:
        raise ServiceError("This field is required.", field="name")
    if len(name) > 200:
        raise ServiceError("Use at most 200 characters.", field="name")
    out["name"] = name
    currency = str(merged.get("currency") or "EUR").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ServiceError("Give an ISO 4217 currency code such as EUR.", field="currency")
    out["currency"] = currency
    out["start_month"] = parse_month(merged.get("start_month"), field="start_month")
    out["end_month"] = parse_month(merged.get("end_month"), field="end_month")
    if out["end_month"] < out["start_month"]:
        raise ServiceError("The end month is before the start month.", field="end_month")
    terminated = merged.get("terminated_after")
    out["terminated_after"] = (
        parse_month(terminated, field="terminated_after") if terminated else None
    )
    for flag in FLAGS:
        out[flag] = bool(merged.get(flag, False))
    if out["terminated_after"] and not out["auto_renew"]:
        raise ServiceError(
            "Only an auto-renewing contract is terminated; change its end month instead.",
            field="terminated_after",
        )
    if out["terminated_after"] and out["terminated_after"] < out["end_month"]:
        # Termination ends the auto-renewal after the end month; a contract is cut short by
        # changing its end month (the in-force rule reads the end month first).
        raise ServiceError(
            "Termination applies to the renewed months after the end month: give the end "
            "month or later, or change the end month to cut the contract short.",
            field="terminated_after",
        )
    if out["reimburse_electricity"] and not out["deduct_electricity"]:
        raise ServiceError(
            "Electricity can be reimbursed only when it is deducted before sharing.",
            field="reimburse_electricity",
        )
    for pct in PERCENTS:
        if pct in ("ac_share_percent", "dc_share_percent") and merged.get(pct) is None:
            raise ServiceError("This field is required.", field=pct)
        out[pct] = _decimal(merged, pct, high=Decimal(100), places=2)
    for fee in KWH_FEES:
        out[fee] = _decimal(merged, fee, high=MAX_RATE, places=6)
    if current is not None and currency != current.currency:
        _check_currency_change(current, currency, data)
    digits = minor_digits(currency)
    for fee in MINOR_FEES:
        if merged.get(fee) is None and current is not None:
            out[f"{fee}_minor"] = getattr(current, f"{fee}_minor")
            continue
        amount = _decimal(merged, fee, high=Decimal(10**9), places=digits)
        out[f"{fee}_minor"] = to_minor(amount, currency)
    return out


def _check_currency_change(current: Contract, currency: str, data: dict) -> None:
    """A contract's amounts are stored in its currency (1.50 EUR is 150 minor units, which
    would read as 150 JPY): a currency change must give every fee that is not zero again, in
    the new currency. A contract that a final statement settled keeps its currency (its
    adjustments of late sessions settle under it): start a new contract instead."""
    if (
        Statement.objects.filter(status=StatementStatus.FINAL)
        .filter(Q(contract=current) | Q(lines__contract=current))
        .exists()
    ):
        raise Conflict(
            f"Final statements were settled under this contract in {current.currency}: its "
            "currency cannot change. End it and create a new contract in the new currency.",
            field="currency",
        )
    for fee in MINOR_FEES + KWH_FEES:
        stored = getattr(current, fee if fee in KWH_FEES else f"{fee}_minor")
        if stored and data.get(fee) is None:
            shown = stored if fee in KWH_FEES else from_minor(stored, current.currency)
            raise ServiceError(
                f"The currency changes from {current.currency} to {currency}: give this fee "
                f"again in {currency} (it is {shown} {current.currency} now).",
                field=fee,
            )


def _check_electricity_currency(partner, currency: str) -> None:
    """The electricity prices of the locations the partner hosts (or hosted) charge points at
    must be in the contract's currency: settlement deducts and reimburses them from revenue
    in that currency (``docs/settlements.md``)."""
    from partnerhub.charging.models import ElectricityPrice

    other = (
        ElectricityPrice.objects.filter(
            location__charge_points__hostings__partner=partner,
        )
        .exclude(currency=currency)
        .select_related("location")
        .order_by("location__name", "valid_from")
        .first()
    )
    if other is not None:
        raise ServiceError(
            f"The partner hosts charge points at {other.location.name}, whose electricity is "
            f"priced in {other.currency}: give the contract in {other.currency}, or change the "
            "location's electricity prices first.",
            field="currency",
        )


def _in_force_q(month: dt.date) -> Q:
    return Q(start_month__lte=month) & (
        Q(end_month__gte=month)
        | Q(auto_renew=True, terminated_after__isnull=True)
        | Q(auto_renew=True, terminated_after__gte=month)
    )


def _last_month(values: dict) -> dt.date | None:
    """The last month in force (None: open-ended)."""
    if values["auto_renew"]:
        return values["terminated_after"]
    return values["end_month"]


def _check_overlap(partner, values: dict, exclude_id: int | None) -> None:
    start, end = values["start_month"], _last_month(values)
    for other in Contract.objects.filter(partner=partner).exclude(pk=exclude_id):
        other_end = other.terminated_after if other.auto_renew else other.end_month
        if (end is None or other.start_month <= end) and (other_end is None or start <= other_end):
            raise Conflict(
                f"Overlaps the partner's contract '{other.name}' "
                f"(from {other.start_month:%Y-%m}"
                + (f" to {other_end:%Y-%m}" if other_end else ", auto-renewing")
                + "). A partner has one contract in force at a time.",
                field="start_month",
            )


def contract_create(*, partner, data: dict, created_by=None) -> Contract:
    values = _clean_contract(data, None)
    with transaction.atomic():
        type(partner).objects.select_for_update().filter(pk=partner.pk).first()
        _check_overlap(partner, values, None)
        _check_electricity_currency(partner, values["currency"])
        contract = Contract.objects.create(partner=partner, created_by=created_by, **values)
        emit("contract.created", partner=partner, payload={"contract_id": contract.pk})
    return contract


def contract_update(*, contract: Contract, data: dict, updated_by=None) -> Contract:
    values = _clean_contract(data, contract)
    with transaction.atomic():
        type(contract.partner).objects.select_for_update().filter(pk=contract.partner_id).first()
        _check_overlap(contract.partner, values, contract.pk)
        if values["currency"] != contract.currency:
            _check_electricity_currency(contract.partner, values["currency"])
        for name, value in values.items():
            setattr(contract, name, value)
        contract.save()
        emit("contract.changed", partner=contract.partner, payload={"contract_id": contract.pk})
    return contract


def contract_in_force(partner_id: int, month: dt.date) -> Contract | None:
    return (
        Contract.objects.filter(_in_force_q(month_start(month)), partner_id=partner_id)
        .order_by("-start_month", "-id")
        .first()
    )


# --- runs --------------------------------------------------------------------------------------


def _lock() -> None:
    """Serialise runs and finalisations (one counter row, locked to the transaction's end)."""
    StatementCounter.objects.get_or_create(year=RUN_LOCK_YEAR)
    StatementCounter.objects.select_for_update().get(year=RUN_LOCK_YEAR)


def _hold_session_imports() -> None:
    """PostgreSQL: wait for imports still writing sessions and keep new ones out until the
    run commits (``SHARE`` conflicts with the ``ROW EXCLUSIVE`` lock every insert or update
    takes). The run's watermark (the highest session id) is read after this, so no session
    with a lower id can commit later and slip past both this run and the next one (a month
    finalised by the run would then never see it as a late session). Imports wait for the
    run, as they wait for the incentive accrual. SQLite has one writer at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE charging_chargingsession IN SHARE MODE")


def settlement_run_create(
    *, month: Any, finalise: bool = False, recompute: bool = True, by=None
) -> SettlementRun:
    """A queued run (the task or the caller then carries it out with ``settlement_run``).
    ``recompute=False`` (with ``finalise``): finalise the month's drafts as they are."""
    day = parse_month(month)
    if not recompute and not finalise:
        raise ServiceError("A run that does not recompute must finalise.", field="finalise")
    if day > today():
        raise ServiceError(
            f"{_month_words(day)} has not begun: a month is settled from its first day on "
            "(platform fees and sessions are counted for the days it has had).",
            field="month",
        )
    if finalise:
        refuse_unfinished(day, field="finalise")
    return SettlementRun.objects.create(
        month=day, finalise=finalise, recompute=recompute, created_by=by
    )


def today() -> dt.date:
    """The day that decides which months have begun and which are over."""
    return timezone.localdate()


def _month_words(day: dt.date) -> str:
    return f"{day:%B %Y}"


def finalisable_from(month: dt.date) -> dt.date | None:
    """The first day the month's statements may be finalised, while that day is still to
    come; None once the month is over."""
    after = last_day(month) + dt.timedelta(days=1)
    return after if after > today() else None


def refuse_unfinished(month: dt.date, *, field: str = "month") -> None:
    """A month is finalised once it is over: its last sessions may still arrive on its last
    day, and a final statement is immutable (they would only come as adjustments later)."""
    end = last_day(month)
    if end >= today():
        after = end + dt.timedelta(days=1)
        raise ServiceError(
            f"{_month_words(month)} is not over: its statements can be finalised from "
            f"{after.day} {after:%B %Y} on. Until then drafts can be run and looked at.",
            field=field,
        )


def settlement_run(
    *, month: Any = None, finalise: bool = False, by=None, run: SettlementRun | None = None
) -> SettlementRun:
    """Recompute the month's drafts for every partner (and finalise them when asked), in one
    transaction. A failure is recorded on the run and re-raised."""
    if run is None:
        run = settlement_run_create(month=month, finalise=finalise, by=by)
    SettlementRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now()
    )
    try:
        with transaction.atomic():
            _lock()
            counts, steps = {}, {}
            if run.recompute:
                _hold_session_imports()
                result = compute_month(run.month, run_id=run.pk)
                counts = {
                    "statements": result.statements,
                    "sessions": result.sessions,
                    "adjustments": result.adjustments,
                    "skipped_final": result.skipped_final,
                    "max_session_id": result.max_session_id,
                }
                steps = result.step_seconds
            finalised = 0
            if run.finalise:
                finalised = _finalise(
                    Statement.objects.filter(month=run.month, status=StatementStatus.DRAFT),
                    by=run.created_by,
                )
            if run.recompute and result.orphans:
                from partnerhub.settlements.tasks import delete_session_lines

                orphans = result.orphans
                transaction.on_commit(lambda: delete_session_lines.enqueue(statement_ids=orphans))
            SettlementRun.objects.filter(pk=run.pk).update(
                status=RunStatus.SUCCEEDED,
                finalised=finalised,
                finished_at=timezone.now(),
                **counts,
            )
            emit(
                "settlement.run_finished",
                payload={
                    "run_id": run.pk,
                    "month": run.month,
                    "statements": counts.get("statements", 0),
                    "finalised": finalised,
                },
            )
    except Exception as exc:
        SettlementRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    run.step_seconds = steps  # for benchmarks and the CLI, not stored
    return run


# --- finalisation ------------------------------------------------------------------------------


ALREADY_FINAL = (
    "Some sessions of this statement are already on a final statement (settled as adjustments "
    "meanwhile): run the month again, then finalise."
)


def _materialise(statement_ids, *, final: bool = False) -> int:
    try:
        return materialise(statement_ids, final=final)
    except InputsGone:
        raise Conflict(
            "The settlement run this draft came from was deleted, and with it what the draft's "
            "per-session lines are computed from: run the month again.",
            field="statement",
        ) from None


def statement_session_lines_write(*, statement: Statement) -> Statement:
    """Write a draft's deferred per-session lines (on their first read). Idempotent; two
    readers at once: the second finds them written."""
    if statement.session_lines_ready:
        return statement
    try:
        with transaction.atomic():
            locked = Statement.objects.select_for_update().filter(pk=statement.pk).first()
            if locked is not None and not locked.session_lines_ready:
                _materialise([locked.pk])
    except OperationalError as exc:
        # SQLite: another connection (a settlement run, an import) holds the write lock
        # longer than the connection's timeout; PostgreSQL: chosen as a deadlock's victim.
        if "locked" not in str(exc) and "deadlock" not in str(exc):
            raise
        raise Conflict(
            "The per-session lines of this draft are written on first read, and the database "
            "is busy with another write (a settlement run or an import): try again when it "
            "has finished.",
            field="statement",
        ) from None
    statement.session_lines_ready = True
    return statement


def _finalise(statements, *, by) -> int:
    """Number and freeze the given drafts (a queryset); returns how many."""
    rows = list(statements.order_by("month", "partner_id").values_list("pk", "month"))
    if not rows:
        return 0
    ids = [pk for pk, _ in rows]
    # Lock the drafts (in id order, as every locker does) before reading which have their
    # lines: a first read writing a draft's lines holds its row until it commits, and must
    # not be half-seen (its lines then neither written final here nor marked final below).
    list(Statement.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    # A final statement keeps its per-session lines. The drafts whose lines were not read yet
    # get them now, written final at once from the inputs their run kept (the figures the
    # draft shows): the partial unique index refuses a session already final elsewhere. The
    # lines of the others (read before) are checked, then marked final, below.
    written = list(
        Statement.objects.filter(pk__in=ids, session_lines_ready=True).values_list("pk", flat=True)
    )
    try:
        with transaction.atomic():
            _materialise(ids, final=True)
    except IntegrityError:
        raise Conflict(ALREADY_FINAL, field="statement") from None
    already = written and (
        SessionSettlement.objects.filter(is_final=True)
        .exclude(statement_id__in=ids)
        .filter(
            Q(is_corporate=False)
            & Q(
                session_id__in=SessionSettlement.objects.filter(
                    statement_id__in=written, is_corporate=False
                ).values("session_id")
            )
            | Q(is_corporate=True)
            & Q(
                session_id__in=SessionSettlement.objects.filter(
                    statement_id__in=written, is_corporate=True
                ).values("session_id")
            )
        )
        .exists()
    )
    if already:
        raise Conflict(ALREADY_FINAL, field="statement")
    now = timezone.now()
    by_year: dict[int, list[int]] = {}
    for pk, month in rows:
        by_year.setdefault(month.year, []).append(pk)
    for year, pks in sorted(by_year.items()):
        counter, _ = StatementCounter.objects.get_or_create(year=year)
        counter = StatementCounter.objects.select_for_update().get(pk=counter.pk)
        first = counter.last_number + 1
        for i, pk in enumerate(pks):
            Statement.objects.filter(pk=pk).update(
                status=StatementStatus.FINAL,
                number=f"ST-{year}-{first + i:05d}",
                finalised_at=now,
                finalised_by=by,
                updated_at=now,
            )
        counter.last_number = first + len(pks) - 1
        counter.save(update_fields=["last_number"])
    try:
        with transaction.atomic():
            SessionSettlement.objects.filter(statement_id__in=written).update(is_final=True)
    except IntegrityError:
        raise Conflict(
            "Some sessions are already on a final statement: run the month again.",
            field="statement",
        ) from None
    with connection.cursor() as cursor:
        forget_inputs(cursor)  # what the finalised drafts' lines were computed from
    from partnerhub.core.events import emit_many

    emit_many(
        [
            ("settlement.finalized", partner_id, {"statement_id": pk, "number": number})
            for pk, partner_id, number in Statement.objects.filter(pk__in=ids).values_list(
                "pk", "partner_id", "number"
            )
        ]
    )
    return len(ids)


def statement_finalise(*, statement: Statement, by=None) -> Statement:
    with transaction.atomic():
        _lock()
        current = Statement.objects.select_for_update().filter(pk=statement.pk).first()
        if current is None:  # a settlement run deleted and recreated the draft meanwhile
            raise Conflict(
                "The statement was recomputed by a settlement run; reload it.",
                field="statement",
            )
        statement = current
        if statement.is_final:
            raise Conflict(f"Statement {statement.number} is already final.", field="status")
        refuse_unfinished(statement.month, field="statement")
        _finalise(Statement.objects.filter(pk=statement.pk), by=by)
        statement.refresh_from_db()
        _audit(statement, "finalised", by)
    return statement


def month_finalise(*, month: Any, by=None) -> int:
    day = parse_month(month)
    refuse_unfinished(day)
    with transaction.atomic():
        _lock()
        return _finalise(Statement.objects.filter(month=day, status=StatementStatus.DRAFT), by=by)


def statement_change_refused(statement: Statement) -> None:
    if statement.is_final:
        raise Conflict(
            f"Statement {statement.number} is final and cannot change.", field="statement"
        )


# --- payments ----------------------------------------------------------------------------------


def payment_record(
    *,
    statement: Statement,
    direction: str,
    paid_on: Any,
    amount: Any,
    note: str = "",
    allow_excess: bool = False,
    by=None,
) -> Payment:
    """Money received from the partner or paid to it against a final statement. A payment
    must not pay more than the open balance in its direction (nor go against it: money paid
    to a partner that owes the operator) unless ``allow_excess`` says that is what happened
    (an overpayment, a refund of one)."""
    if direction not in PaymentDirection.values:
        raise ServiceError("Say 'received' or 'made'.", field="direction")
    if not statement.is_final:
        raise Conflict("Record payments against a final statement.", field="statement")
    if isinstance(paid_on, str):
        try:
            paid_on = dt.date.fromisoformat(paid_on)
        except ValueError:
            raise ServiceError("Give a date as YYYY-MM-DD.", field="paid_on") from None
    if not isinstance(paid_on, dt.date):
        raise ServiceError("Give a date as YYYY-MM-DD.", field="paid_on")
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ServiceError(
            "Write the amount in digits with a dot before the cents, e.g. 1250.00.",
            field="amount",
        ) from None
    if not value.is_finite() or value <= 0:
        raise ServiceError("The amount must be positive.", field="amount")
    digits = minor_digits(statement.currency)
    # The magnitude first: quantising 1e30 exceeds the decimal context (InvalidOperation).
    if value.adjusted() + digits >= len(str(MAX_MINOR)):
        raise ServiceError("The amount is too large.", field="amount")
    try:
        exact = value == value.quantize(Decimal(1).scaleb(-digits))
    except InvalidOperation:
        raise ServiceError("The amount is too large.", field="amount") from None
    if not exact:
        raise ServiceError(f"{statement.currency} has {digits} decimal places.", field="amount")
    minor = to_minor(value, statement.currency)
    if minor > MAX_MINOR:
        raise ServiceError("The amount is too large.", field="amount")
    note = (note or "").strip()
    if len(note) > 500 or "\x00" in note:
        raise ServiceError("Use at most 500 characters (no NUL).", field="note")
    with transaction.atomic():
        # One payment at a time per statement: the balance checked is the balance written to.
        Statement.objects.select_for_update().filter(pk=statement.pk).first()
        if not allow_excess:
            _check_against_balance(statement, direction, minor)
        payment = Payment.objects.create(
            statement=statement,
            direction=direction,
            paid_on=paid_on,
            amount_minor=minor,
            note=note,
            created_by=by,
        )
        emit(
            "settlement.payment_recorded",
            partner=statement.partner,
            payload={"statement_id": statement.pk, "payment_id": payment.pk},
        )
    return payment


EXCESS_HINT = (
    "If that is what was paid (an overpayment, or the refund of one), record it anyway "
    "(the form's “Record it anyway”, allow_excess in the API)."
)


def _check_against_balance(statement: Statement, direction: str, minor: int) -> None:
    """Refuse a payment beyond the open balance or against its direction."""
    balance = open_balance_minor(statement)
    cur = statement.currency

    def text(value: int) -> str:
        return f"{from_minor(value, cur):,.{minor_digits(cur)}f} {cur}"

    made = direction == PaymentDirection.MADE
    owed = balance if made else -balance
    if balance == 0:
        raise ServiceError(f"This statement is settled: nothing is open. {EXCESS_HINT}",
                           field="amount")  # fmt: skip
    if owed < 0 and made:
        raise ServiceError(
            f"The partner owes {text(-balance)} on this statement: nothing is to be paid to "
            f"it. Record money received from the partner, or: {EXCESS_HINT}",
            field="direction",
        )
    if owed < 0:
        raise ServiceError(
            f"The partner is owed {text(balance)} on this statement: nothing is to be received "
            f"from it. Record a payment made to the partner, or: {EXCESS_HINT}",
            field="direction",
        )
    if minor > owed:
        raise ServiceError(
            f"That is more than the open balance of {text(owed)}. {EXCESS_HINT}", field="amount"
        )


def open_balance_minor(statement: Statement) -> int:
    """net − paid to the partner + received from it: 0 when settled; positive: the operator
    still owes the partner; negative: the partner still owes the operator."""
    made = received = 0
    for direction, amount in statement.payments.values_list("direction", "amount_minor"):
        if direction == PaymentDirection.MADE:
            made += amount
        else:
            received += amount
    return statement.net_minor - made + received


def _audit(statement: Statement, action: str, by) -> None:
    """An audit-log entry for a statement change done with bulk updates."""
    from auditlog.models import LogEntry

    LogEntry.objects.log_create(
        statement,
        action=LogEntry.Action.UPDATE,
        changes={"status": ["draft", statement.status], "number": [None, statement.number]},
        actor=by,
    )


def _vendor() -> str:
    return connection.vendor
