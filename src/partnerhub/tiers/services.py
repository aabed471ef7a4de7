"""Writes of the tier engine: evaluation runs, overrides, nominations, evidence, survey scores."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from partnerhub.accounts.models import User
from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.events import emit_many
from partnerhub.partners.models import Partner, PartnerStatus, TrackMembership
from partnerhub.programs.models import Program, ProgramVersion, Tier, Track
from partnerhub.tiers.engine import EvaluationResult, State, evaluate
from partnerhub.tiers.models import (
    EvaluationRun,
    EvidenceItem,
    Nomination,
    NominationStatus,
    PartnerTier,
    SurveyResponse,
    TierChange,
    TierOverride,
)

NOTIFIED_KINDS = {"promotion", "demotion", "override", "override_ended"}


def version_with_rules(version: ProgramVersion) -> ProgramVersion:
    return (
        ProgramVersion.objects.select_related("program")
        .prefetch_related(
            Prefetch(
                "tracks",
                queryset=Track.objects.prefetch_related(
                    Prefetch("tiers", queryset=Tier.objects.order_by("rank"))
                ),
            )
        )
        .get(pk=version.pk)
    )


def load_inputs(program: Program, as_of: dt.date, partner_ids: list[int] | None):
    """Memberships, states, overrides and nominations of one program, in a few queries."""
    memberships_qs = TrackMembership.objects.filter(
        program=program, partner__status=PartnerStatus.ACTIVE, joined_on__lte=as_of
    )
    states_qs = PartnerTier.objects.filter(program=program)
    overrides_qs = TierOverride.objects.filter(
        program=program, starts_on__lte=as_of, expires_on__gte=as_of, revoked_at__isnull=True
    )
    nominations_qs = Nomination.objects.filter(program=program, status=NominationStatus.APPROVED)
    if partner_ids is not None:
        memberships_qs = memberships_qs.filter(partner_id__in=partner_ids)
        states_qs = states_qs.filter(partner_id__in=partner_ids)
        overrides_qs = overrides_qs.filter(partner_id__in=partner_ids)
        nominations_qs = nominations_qs.filter(partner_id__in=partner_ids)
    memberships = list(
        memberships_qs.order_by("partner_id", "track_key").values_list(
            "partner_id", "track_key", "joined_on"
        )
    )
    states = {
        (p, t): State(k, r, since, held, src, last, held_tier)
        for p, t, k, r, since, held, src, last, held_tier in states_qs.values_list(
            "partner_id",
            "track_key",
            "tier_key",
            "rank",
            "since",
            "held_until",
            "source",
            "last_evaluated_on",
            "held_tier_key",
        )
    }
    overrides: dict[tuple[int, str], str] = {}
    for p, t, k in overrides_qs.order_by("starts_on", "id").values_list(
        "partner_id", "track_key", "tier_key"
    ):
        overrides[(p, t)] = k  # the latest-starting override wins
    # tier key → the day it was approved (a gated tier is not reached before its approval)
    nominations: dict[tuple[int, str], dict[str, dt.date | None]] = defaultdict(dict)
    for p, t, k, decided_at in nominations_qs.values_list(
        "partner_id", "track_key", "tier_key", "decided_at"
    ):
        nominations[(p, t)][k] = timezone.localdate(decided_at) if decided_at else None
    return memberships, states, overrides, nominations


@dataclass
class RunSummary:
    as_of: dt.date
    dry_run: bool
    memberships: int = 0
    changes: list[dict] = field(default_factory=list)
    run_id: int | None = None
    per_tier: dict[str, int] = field(default_factory=dict)


def _write(
    program: Program, result: EvaluationResult, run: EvaluationRun, partner_ids
) -> list[TierChange]:
    as_of = result.as_of
    new_rows, changed_rows = [], []
    existing = (
        {
            (pt.partner_id, pt.track_key): pt
            for pt in PartnerTier.objects.filter(
                program=program,
                partner_id__in=[
                    d.partner_id for d in result.decisions if d.before and d.decision.state_changed
                ],
            )
        }
        if any(d.before and d.decision.state_changed for d in result.decisions)
        else {}
    )
    changes: list[TierChange] = []
    for d in result.decisions:
        s = d.decision.state
        if d.before is None:
            new_rows.append(
                PartnerTier(
                    partner_id=d.partner_id,
                    program=program,
                    track_key=d.track_key,
                    tier_key=s.tier_key,
                    rank=s.rank,
                    since=s.since,
                    held_until=s.held_until,
                    source=s.source,
                    last_evaluated_on=s.last_evaluated_on,
                    held_tier_key=s.held_tier,
                )
            )
        elif d.decision.state_changed:
            row = existing[(d.partner_id, d.track_key)]
            row.tier_key, row.rank, row.since = s.tier_key, s.rank, s.since
            row.held_until, row.source, row.last_evaluated_on = (
                s.held_until,
                s.source,
                s.last_evaluated_on,
            )
            row.held_tier_key = s.held_tier
            changed_rows.append(row)
        for c in d.decision.changes:
            changes.append(
                TierChange(
                    partner_id=d.partner_id,
                    program=program,
                    track_key=d.track_key,
                    from_tier_key=c.from_tier,
                    to_tier_key=c.to_tier,
                    kind=c.kind,
                    effective_on=c.effective_on,
                    reason=c.reason,
                    run=run,
                    details={"version": d.rules.version_number},
                )
            )
    PartnerTier.objects.bulk_create(new_rows, batch_size=2000)
    PartnerTier.objects.bulk_update(
        changed_rows,
        ["tier_key", "rank", "since", "held_until", "source", "last_evaluated_on", "held_tier_key"],
        batch_size=2000,
    )
    stale = PartnerTier.objects.filter(
        program=program, last_evaluated_on__lt=as_of, partner__status=PartnerStatus.ACTIVE
    )
    if partner_ids is not None:
        stale = stale.filter(partner_id__in=partner_ids)
    stale.update(last_evaluated_on=as_of)
    TierChange.objects.bulk_create(changes, batch_size=2000)
    emit_many(
        [
            (
                "partner.tier_changed",
                c.partner_id,
                {
                    "program": program.key,
                    "track": c.track_key,
                    "from": c.from_tier_key,
                    "to": c.to_tier_key,
                    "kind": c.kind,
                    "effective_on": c.effective_on,
                    "reason": c.reason,
                },
            )
            for c in changes
            # Joining a track at its entry tier is recorded in the history but is not a change
            # of tier worth an event (a first evaluation would otherwise emit one per member).
            if c.kind != "entry"
        ]
    )
    return changes


def tiers_evaluate(
    *,
    as_of: dt.date,
    dry_run: bool = False,
    actor: User | None = None,
    program: Program | None = None,
    partner_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> RunSummary:
    """Evaluate every active partner's tier in every track as of ``as_of``.

    Idempotent: a second run for the same date changes nothing. With ``dry_run`` nothing is
    written and the summary lists what would change."""
    summary = RunSummary(as_of=as_of, dry_run=dry_run)
    programs = [program] if program else list(Program.objects.order_by("key"))
    with transaction.atomic():
        run = None if dry_run else EvaluationRun.objects.create(as_of=as_of, triggered_by=actor)
        written: list[TierChange] = []
        for prog in programs:
            version = prog.version_as_of(as_of)
            if version is None:
                continue
            version = version_with_rules(version)
            memberships, states, overrides, nominations = load_inputs(prog, as_of, partner_ids)
            if on_total:
                on_total(len(memberships))
            result = evaluate(
                as_of=as_of,
                version=version,
                memberships=memberships,
                states=states,
                overrides=overrides,
                nominations=nominations,
                partner_ids=partner_ids,
                progress=progress,
            )
            summary.memberships += len(result.decisions)
            for d in result.decisions:
                label = f"{prog.key}/{d.track_key}/{d.decision.state.tier_key}"
                summary.per_tier[label] = summary.per_tier.get(label, 0) + 1
                for c in d.decision.changes:
                    summary.changes.append(
                        {
                            "partner_id": d.partner_id,
                            "program": prog.key,
                            "track": d.track_key,
                            "from": c.from_tier,
                            "to": c.to_tier,
                            "kind": c.kind,
                            "effective_on": c.effective_on.isoformat(),
                            "reason": c.reason,
                        }
                    )
            if not dry_run:
                written += _write(prog, result, run, partner_ids)
        if run is not None:
            run.memberships = summary.memberships
            run.changes = len(written)
            run.finished_at = timezone.now()
            run.save(update_fields=["memberships", "changes", "finished_at"])
            summary.run_id = run.pk
            notify = [c.pk for c in written if c.kind in NOTIFIED_KINDS]
            if notify:
                from partnerhub.tiers.tasks import notify_tier_changes

                transaction.on_commit(lambda: notify_tier_changes.enqueue(change_ids=notify))
    return summary


# --- overrides and nominations ----------------------------------------------------------------


def _check_tier(program: Program, track_key: str, tier_key: str, field_prefix: str = "") -> Tier:
    version = (
        program.version_as_of(timezone.localdate()) or program.versions.order_by("-number").first()
    )
    tier = Tier.objects.filter(track__version=version, track__key=track_key, key=tier_key).first()
    if tier is None:
        if not Track.objects.filter(version=version, key=track_key).exists():
            raise ServiceError(
                f"Program '{program.key}' has no track '{track_key}'.", field=f"{field_prefix}track"
            )
        raise ServiceError(
            f"Track '{track_key}' has no tier '{tier_key}'.", field=f"{field_prefix}tier"
        )
    return tier


def _membership(partner: Partner, program: Program, track_key: str) -> None:
    if not TrackMembership.objects.filter(
        partner=partner, program=program, track_key=track_key
    ).exists():
        raise ServiceError(
            f"{partner.display_name} is not in track '{track_key}' of '{program.key}'.",
            field="track",
        )


@transaction.atomic
def tier_override_create(
    *,
    actor: User,
    partner: Partner,
    program: Program,
    track_key: str,
    tier_key: str,
    reason: str,
    expires_on: dt.date,
    starts_on: dt.date | None = None,
) -> TierOverride:
    """Set a partner's tier by hand until ``expires_on`` (applied at the next evaluation)."""
    if not reason.strip():
        raise ServiceError("A reason is required for an override.", field="reason")
    starts_on = starts_on or timezone.localdate()
    if expires_on < starts_on:
        raise ServiceError("The expiry must not be before the start.", field="expires_on")
    _membership(partner, program, track_key)
    _check_tier(program, track_key, tier_key)
    return TierOverride.objects.create(
        partner=partner,
        program=program,
        track_key=track_key,
        tier_key=tier_key,
        reason=reason.strip(),
        author=actor,
        starts_on=starts_on,
        expires_on=expires_on,
    )


@transaction.atomic
def tier_override_revoke(*, override: TierOverride) -> TierOverride:
    if override.revoked_at is not None:
        raise Conflict("This override is already revoked.")
    override.revoked_at = timezone.now()
    override.save(update_fields=["revoked_at"])
    return override


@transaction.atomic
def nomination_create(
    *, actor: User, partner: Partner, program: Program, track_key: str, tier_key: str, reason: str
) -> Nomination:
    """Nominate a partner for an invite-only tier (or record its application for a gated one)."""
    if not reason.strip():
        raise ServiceError("A reason is required for a nomination.", field="reason")
    _membership(partner, program, track_key)
    tier = _check_tier(program, track_key, tier_key)
    if not tier.gate:
        raise ServiceError(
            f"Tier '{tier_key}' is open: it is reached by meeting its requirements.", field="tier"
        )
    if Nomination.objects.filter(
        partner=partner,
        program=program,
        track_key=track_key,
        tier_key=tier_key,
        status__in=[NominationStatus.PENDING, NominationStatus.APPROVED],
    ).exists():
        raise Conflict(
            "This partner already has an open or approved nomination for this tier.", field="tier"
        )
    return Nomination.objects.create(
        partner=partner,
        program=program,
        track_key=track_key,
        tier_key=tier_key,
        reason=reason.strip(),
        nominated_by=actor,
    )


@transaction.atomic
def nomination_decide(
    *, actor: User, nomination: Nomination, approve: bool, reason: str = ""
) -> Nomination:
    nomination = Nomination.objects.select_for_update().get(pk=nomination.pk)
    if nomination.status != NominationStatus.PENDING:
        raise Conflict(f"This nomination is already {nomination.status}.")
    if not approve and not reason.strip():
        raise ServiceError("A reason is required to reject a nomination.", field="reason")
    if nomination.nominated_by_id == actor.pk and approve:
        raise Conflict("A nomination needs a second person's approval.")
    nomination.status = NominationStatus.APPROVED if approve else NominationStatus.REJECTED
    nomination.decided_by = actor
    nomination.decided_at = timezone.now()
    nomination.decision_reason = reason.strip()
    nomination.save()
    return nomination


# --- metric inputs ---------------------------------------------------------------------------


@transaction.atomic
def evidence_record(
    *,
    actor: User,
    partner: Partner,
    item: str,
    recorded_on: dt.date | None = None,
    valid_until: dt.date | None = None,
    note: str = "",
) -> EvidenceItem:
    from django.utils.text import slugify

    key = slugify(item)
    if not key:
        raise ServiceError("Name the evidence item, e.g. 'case-study'.", field="item")
    recorded_on = recorded_on or timezone.localdate()
    if valid_until is not None and valid_until < recorded_on:
        raise ServiceError(
            "'valid_until' must not be before the recording date.", field="valid_until"
        )
    return EvidenceItem.objects.create(
        partner=partner,
        item=key,
        recorded_by=actor,
        recorded_on=recorded_on,
        valid_until=valid_until,
        note=note.strip(),
    )


@transaction.atomic
def survey_responses_import(*, rows: list[dict]) -> tuple[int, int]:
    """Store customer survey scores, idempotent by external id. Returns (created, unchanged)."""
    errors = []
    for index, row in enumerate(rows, start=1):
        score = row.get("score")
        if not isinstance(score, int) or not 0 <= score <= 10:
            errors.append(f"row {index}: score must be a whole number from 0 to 10")
    if errors:
        raise ServiceError("; ".join(errors), field="rows")
    existing = set(
        SurveyResponse.objects.filter(external_id__in=[r["external_id"] for r in rows]).values_list(
            "external_id", flat=True
        )
    )
    new = [SurveyResponse(**r) for r in rows if r["external_id"] not in existing]
    SurveyResponse.objects.bulk_create(new)
    return len(new), len(rows) - len(new)
