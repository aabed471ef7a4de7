"""Console-specific reads: aggregates and lookups the vendor console shows, always scoped by
``visible_partners(fetched_by)`` (a partner manager sees the partners assigned to them).

The number of queries never grows with the number of partners or registrations summarised
(some functions run one aggregate per program): lists are prefetched, sums are SQL aggregates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404
from django.utils import timezone

from partnerhub.accounts.models import StaffRole, User
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import visible_partners
from partnerhub.deals.models import (
    ACTIVE_STATUSES,
    DealConflict,
    DealExtension,
    DealRegistration,
    DealStatus,
    ExtensionStatus,
)
from partnerhub.partners.models import Partner, TrackMembership
from partnerhub.partners.selectors import partner_list
from partnerhub.programs.models import Program, ProgramVersion, Tier
from partnerhub.tiers.models import PartnerTier, TierChange, TierOverride
from partnerhub.tiers.periods import fiscal_year_start

# --- the program catalogue (tracks and tiers of the versions in force) ------------------------


@dataclass
class TrackInfo:
    program_id: int
    program_key: str
    program_name: str
    currency: str
    track_key: str
    track_name: str
    tiers: list[tuple[str, str]] = field(default_factory=list)  # (key, name), lowest first

    @property
    def label(self) -> str:
        return f"{self.program_name} · {self.track_name}"

    def tier_name(self, key: str) -> str:
        return next((name for k, name in self.tiers if k == key), key)


def current_versions(on: dt.date | None = None) -> dict[int, ProgramVersion]:
    """Per program id: the version in force on ``on`` (else its first version), one query."""
    on = on or timezone.localdate()
    chosen: dict[int, ProgramVersion] = {}
    first: dict[int, ProgramVersion] = {}
    for version in ProgramVersion.objects.select_related("program").order_by(
        "program_id", "-effective_from", "-number"
    ):
        first[version.program_id] = version  # the last seen is the earliest
        if version.effective_from <= on:
            chosen.setdefault(version.program_id, version)
    return {program_id: chosen.get(program_id, v) for program_id, v in first.items()}


def catalogue(on: dt.date | None = None) -> dict[tuple[int, str], TrackInfo]:
    """(program id, track key) → the track and its ordered tiers, as in force today. Two queries
    (versions, then tiers with their tracks)."""
    versions = current_versions(on)
    tracks: dict[tuple[int, str], TrackInfo] = {}
    tiers = (
        Tier.objects.filter(track__version_id__in=[v.pk for v in versions.values()])
        .select_related("track")
        .order_by("track__version_id", "track__position", "rank")
    )
    by_version = {v.pk: v for v in versions.values()}
    for tier in tiers:
        version = by_version[tier.track.version_id]
        key = (version.program_id, tier.track.key)
        info = tracks.get(key)
        if info is None:
            info = tracks[key] = TrackInfo(
                program_id=version.program_id,
                program_key=version.program.key,
                program_name=version.program.name,
                currency=version.currency,
                track_key=tier.track.key,
                track_name=tier.track.name,
            )
        info.tiers.append((tier.key, tier.name))
    return tracks


# --- program health ---------------------------------------------------------------------------


@dataclass
class TrackCounts:
    track: TrackInfo
    counts: list[tuple[str, str, int]]  # (tier key, tier name, partners), lowest tier first
    not_evaluated: int = 0

    @property
    def total(self) -> int:
        return sum(n for _, _, n in self.counts) + self.not_evaluated


def _unknown_track(program: Program, track_key: str) -> TrackInfo:
    return TrackInfo(program.pk, program.key, program.name, "", track_key, track_key)


def tiers_now(*, fetched_by: User, tracks: dict[tuple[int, str], TrackInfo]) -> list[TrackCounts]:
    """Partners per tier in every track (PartnerTier), and members not evaluated yet."""
    partners = visible_partners(fetched_by).values("pk")
    counts: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for row in (
        PartnerTier.objects.filter(partner__in=partners)
        .values("program_id", "track_key", "tier_key")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[(row["program_id"], row["track_key"])][row["tier_key"]] += row["n"]
    members = {
        (row["program_id"], row["track_key"]): row["n"]
        for row in TrackMembership.objects.filter(partner__in=partners)
        .values("program_id", "track_key")
        .annotate(n=Count("id"))
        .order_by()
    }
    programs = {p.pk: p for p in Program.objects.all()}
    keys = list(tracks) + sorted(k for k in set(counts) | set(members) if k not in tracks)
    out = []
    for key in keys:
        if key not in counts and key not in members:
            continue
        info = tracks.get(key) or _unknown_track(programs[key[0]], key[1])
        per_tier = counts.get(key, Counter())
        ordered = [(k, name, per_tier.get(k, 0)) for k, name in info.tiers]
        ordered += [(k, k, n) for k, n in sorted(per_tier.items()) if k not in dict(info.tiers)]
        evaluated = sum(per_tier.values())
        out.append(TrackCounts(info, ordered, max(members.get(key, 0) - evaluated, 0)))
    return out


def month_ends(today: dt.date, months: int = 12) -> list[dt.date]:
    """The last ``months`` month ends on or before ``today``, oldest first."""
    ends = []
    day = today.replace(day=1) - dt.timedelta(days=1)  # end of the previous month
    if (today + dt.timedelta(days=1)).day == 1:
        day = today
    while len(ends) < months:
        ends.append(day)
        day = day.replace(day=1) - dt.timedelta(days=1)
    return ends[::-1]


@dataclass
class TrackHistory:
    track: TrackInfo
    months: list[dt.date]
    tiers: list[tuple[str, str]]  # (key, name) shown, lowest first
    counts: list[dict[str, int]]  # per month: tier key → partners


def tiers_over_time(
    *, fetched_by: User, tracks: dict[tuple[int, str], TrackInfo], ends: list[dt.date]
) -> list[TrackHistory]:
    """Partners per tier at each month end, rebuilt from TierChange in two queries: each
    membership's last change up to the first month end (a window function), then every change
    after it up to the last month end, replayed in order."""
    if not ends:
        return []
    partners = visible_partners(fetched_by).values("pk")
    first, last = ends[0], ends[-1]
    fields = ("partner_id", "program_id", "track_key", "to_tier_key")
    baseline = (
        TierChange.objects.filter(partner__in=partners, effective_on__lte=first)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("partner_id"), F("program_id"), F("track_key")],
                order_by=[F("effective_on").desc(), F("id").desc()],
            )
        )
        .filter(position=1)
        .values_list(*fields)
    )
    state: dict[tuple[int, int, str], str] = {}
    counts: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for partner_id, program_id, track_key, tier in baseline:
        state[(partner_id, program_id, track_key)] = tier
        counts[(program_id, track_key)][tier] += 1
    changes = (
        TierChange.objects.filter(
            partner__in=partners, effective_on__gt=first, effective_on__lte=last
        )
        .order_by("effective_on", "id")
        .values_list("effective_on", *fields)
        .iterator(chunk_size=5000)
    )
    per_month: list[dict[tuple[int, str], Counter]] = []
    for effective_on, partner_id, program_id, track_key, tier in changes:
        while len(per_month) < len(ends) and ends[len(per_month)] < effective_on:
            per_month.append({k: Counter(c) for k, c in counts.items()})
        member = (partner_id, program_id, track_key)
        before = state.get(member)
        if before is not None:
            counts[(program_id, track_key)][before] -= 1
        counts[(program_id, track_key)][tier] += 1
        state[member] = tier
    while len(per_month) < len(ends):
        per_month.append({k: Counter(c) for k, c in counts.items()})
    snapshots = {key: [m.get(key, Counter()) for m in per_month] for key in counts}

    programs = {p.pk: p for p in Program.objects.all()} if set(snapshots) - set(tracks) else {}
    out = []
    for key in list(tracks) + sorted(k for k in snapshots if k not in tracks):
        if key not in snapshots:
            continue
        info = tracks.get(key) or _unknown_track(programs[key[0]], key[1])
        series = snapshots[key]
        seen = {k for c in series for k, n in c.items() if n}
        shown = [(k, name) for k, name in info.tiers]
        shown += [(k, k) for k in sorted(seen) if k not in dict(info.tiers)]
        if not seen:
            continue
        out.append(
            TrackHistory(info, ends, shown, [{k: c.get(k, 0) for k, _ in shown} for c in series])
        )
    return out


@dataclass
class Amount:
    amount: object  # Decimal
    currency: str


def pipeline(*, fetched_by: User) -> list[dict]:
    """Registrations per status (drafts left out): count and estimated value per currency, in
    one aggregate query."""
    rows = (
        DealRegistration.objects.filter(partner__in=visible_partners(fetched_by).values("pk"))
        .exclude(status=DealStatus.DRAFT)
        .values("status", "currency")
        .annotate(n=Count("id"), value=Sum("estimated_value_minor"))
        .order_by()
    )
    per_status: dict[str, dict] = {}
    for row in rows:
        entry = per_status.setdefault(row["status"], {"count": 0, "values": []})
        entry["count"] += row["n"]
        entry["values"].append(
            Amount(from_minor(row["value"] or 0, row["currency"]), row["currency"])
        )
    out = []
    for status, label in DealStatus.choices:
        if status == DealStatus.DRAFT:
            continue
        entry = per_status.get(status, {"count": 0, "values": []})
        entry["values"].sort(key=lambda a: a.currency)
        out.append({"status": status, "label": label, **entry})
    return out


def review_counts(*, fetched_by: User) -> dict[str, int]:
    """Registrations waiting for review and pending extension requests (two counts)."""
    partners = visible_partners(fetched_by).values("pk")
    return {
        "submitted": DealRegistration.objects.filter(
            partner__in=partners, status=DealStatus.SUBMITTED
        ).count(),
        "extensions": DealExtension.objects.filter(
            registration__partner__in=partners, status=ExtensionStatus.PENDING
        ).count(),
    }


def top_partners_by_billings(
    *, fetched_by: User, limit: int = 10, on: dt.date | None = None
) -> list[dict]:
    """Per program: the partners (members of it) with the highest net billings in the
    program's currency in its fiscal year to date. One aggregate query per program."""
    on = on or timezone.localdate()
    from partnerhub.sales.models import BillingLine

    partners = visible_partners(fetched_by)
    out = []
    for version in sorted(current_versions(on).values(), key=lambda v: v.program.name):
        start = fiscal_year_start(
            on, version.fiscal_year_start_month, version.fiscal_year_start_day
        )
        rows = list(
            BillingLine.objects.filter(
                partner__in=partners.filter(
                    track_memberships__program_id=version.program_id
                ).values("pk"),
                currency=version.currency,
                invoice_date__gte=start,
                invoice_date__lte=on,
            )
            .values("partner_id", "partner__display_name")
            .annotate(total=Sum("net_amount_minor"))
            .order_by("-total", "partner__display_name")[:limit]
        )
        out.append(
            {
                "program": version.program,
                "currency": version.currency,
                "start": start,
                "rows": [
                    {
                        "partner_id": r["partner_id"],
                        "name": r["partner__display_name"],
                        "total": from_minor(r["total"] or 0, version.currency),
                    }
                    for r in rows
                ],
            }
        )
    return out


# --- partners ---------------------------------------------------------------------------------


def partner_managers() -> QuerySet[User]:
    return User.objects.filter(staff_role=StaffRole.PARTNER_MANAGER, is_active=True).order_by(
        "email"
    )


def partner_countries(*, fetched_by: User) -> list[str]:
    return list(
        visible_partners(fetched_by)
        .order_by("country")
        .values_list("country", flat=True)
        .distinct()
    )


def partner_table(
    *,
    fetched_by: User,
    track: str = "",
    tier: str = "",
    country: str = "",
    status: str = "",
    manager_id: int | None = None,
) -> QuerySet[Partner]:
    """The partners list with its filters. ``track`` is ``program_key:track_key``, ``tier``
    ``program_key:track_key:tier_key``. Memberships, tiers and manager come prefetched."""
    program_key, _, track_key = track.partition(":")
    qs = partner_list(
        fetched_by=fetched_by,
        status=status or None,
        country=country or None,
        program=program_key or None,
        track=track_key or None,
        partner_manager_id=manager_id,
    )
    if tier:
        t_program, t_track, t_tier = (tier.split(":") + ["", "", ""])[:3]
        qs = qs.filter(
            id__in=PartnerTier.objects.filter(
                program__key=t_program, track_key=t_track, tier_key=t_tier
            ).values("partner_id")
        )
    return qs.select_related("partner_manager").prefetch_related("tiers")


def membership_tiers(
    partner: Partner, tracks: dict[tuple[int, str], TrackInfo], tiers=None
) -> list[dict]:
    """A partner's tracks with their current tier, from prefetched memberships and tiers (or
    the given PartnerTier rows)."""
    tiers = {
        (t.program_id, t.track_key): t for t in (partner.tiers.all() if tiers is None else tiers)
    }
    out = []
    for m in partner.track_memberships.all():
        info = tracks.get((m.program_id, m.track_key))
        state = tiers.get((m.program_id, m.track_key))
        out.append(
            {
                "program": m.program,
                "track_key": m.track_key,
                "track_name": info.track_name if info else m.track_key,
                "tier_key": state.tier_key if state else "",
                "tier_name": (info.tier_name(state.tier_key) if info else state.tier_key)
                if state
                else "",
                "joined_on": m.joined_on,
            }
        )
    return out


def partner_billings_this_year(*, partner: Partner, on: dt.date | None = None) -> list[dict]:
    """Net billings per program the partner belongs to, fiscal year to date, in the program's
    currency (one aggregate per program)."""
    from partnerhub.sales.models import BillingLine

    on = on or timezone.localdate()
    versions = current_versions(on)
    program_ids = {m.program_id for m in partner.track_memberships.all()}
    out = []
    for program_id in sorted(program_ids):
        version = versions.get(program_id)
        if version is None:
            continue
        start = fiscal_year_start(
            on, version.fiscal_year_start_month, version.fiscal_year_start_day
        )
        agg = BillingLine.objects.filter(
            partner=partner,
            currency=version.currency,
            invoice_date__gte=start,
            invoice_date__lte=on,
        ).aggregate(total=Sum("net_amount_minor"), lines=Count("id"))
        out.append(
            {
                "program": version.program,
                "start": start,
                "currency": version.currency,
                "total": from_minor(agg["total"] or 0, version.currency),
                "lines": agg["lines"],
            }
        )
    return out


def partner_people_counts(*, partner: Partner, on: dt.date | None = None) -> dict[str, int]:
    """People on record and certifications valid today (one query each)."""
    from partnerhub.training.models import Person, PersonCertification

    on = on or timezone.localdate()
    valid = PersonCertification.objects.filter(partner=partner, earned_on__lte=on).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gt=on),
        Q(revoked_on__isnull=True) | Q(revoked_on__gt=on),
    )
    return {
        "people": Person.objects.filter(partner=partner).count(),
        "certifications": valid.count(),
        "certified_people": valid.values("person_id").distinct().count(),
    }


def active_overrides(*, partner: Partner, on: dt.date | None = None) -> QuerySet[TierOverride]:
    on = on or timezone.localdate()
    return (
        TierOverride.objects.filter(partner=partner, revoked_at__isnull=True, expires_on__gte=on)
        .select_related("program", "author")
        .order_by("expires_on", "id")
    )


def override_get(*, fetched_by: User, override_id: int) -> TierOverride:
    """An override of a partner the user sees; 404 otherwise (as the API)."""
    return get_object_or_404(
        TierOverride.objects.select_related("program", "partner").filter(
            partner__in=visible_partners(fetched_by).values("pk")
        ),
        pk=override_id,
    )


def override_choices(partner: Partner, tracks: dict[tuple[int, str], TrackInfo]) -> list:
    """Grouped select choices ``program:track:tier`` for the partner's tracks."""
    groups = []
    for m in partner.track_memberships.all():
        info = tracks.get((m.program_id, m.track_key))
        if info is None:
            continue
        groups.append(
            (
                info.label,
                [(f"{info.program_key}:{info.track_key}:{k}", name) for k, name in info.tiers],
            )
        )
    return groups


def programs_with_versions() -> list[Program]:
    """Every program with its versions (oldest first, ``in_force`` marked), three queries."""
    from django.db.models import Prefetch

    from partnerhub.programs.selectors import program_list

    current = {v.pk for v in current_versions().values()}
    programs = list(
        program_list()
        .order_by("key")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ProgramVersion.objects.select_related("loaded_by").order_by("number"),
                to_attr="version_rows",
            )
        )
    )
    for program in programs:
        for version in program.version_rows:
            version.in_force = version.pk in current
    return programs


def program_by_key(key: str) -> Program | None:
    return Program.objects.filter(key=key).first()


def version_with_hash(program_key: str, content_hash: str) -> ProgramVersion | None:
    """The stored version of that program with exactly this content, if any."""
    return (
        ProgramVersion.objects.filter(program__key=program_key, content_hash=content_hash)
        .order_by("-number")
        .first()
    )


# --- the review queue -------------------------------------------------------------------------


def with_values(registrations):
    """Set ``value`` (a Decimal in the registration's currency) on each registration."""
    registrations = list(registrations)
    for reg in registrations:
        reg.value = from_minor(reg.estimated_value_minor, reg.currency)
    return registrations


def _conflict_row(
    other: DealRegistration, score, fields: list, reg: DealRegistration, user: User
) -> dict:
    return {
        # Links are shown only to what the user may open (no per-row query: the partner is
        # loaded and the rules read its manager id).
        "visible": user.has_perm("partners.view_partner", other.partner),
        "registration_id": other.pk,
        "reference": other.reference,
        "partner_id": other.partner_id,
        "partner_name": other.partner.display_name,
        "customer_name": other.customer_name,
        "status": other.status,
        "status_label": other.get_status_display(),
        "submitted_at": other.submitted_at,
        "protected_until": other.protected_until,
        "score": score,
        "fields": _labelled(fields),
        "earlier": (other.submission_seq or 0) < (reg.submission_seq or 0),
    }


def _labelled(fields: list) -> list[dict]:
    return [{**f, "label": str(f.get("field", "")).replace("_", " ")} for f in fields]


def review_items(
    registrations: list[DealRegistration], *, fetched_by: User
) -> list[DealRegistration]:
    """Attach to each submitted registration its current conflicts and whether it has priority.

    Conflicts are those recorded at submission (the ``conflicts`` prefetched by
    ``deals.selectors.review_queue``: earlier registrations) and those recorded by later
    submissions against it, both kept only while the other registration is still active. One
    extra query for the whole page, whatever its length; the live re-check
    (``deals.services.conflicts_for``) runs on the registration page and at approval.
    """
    ids = [r.pk for r in registrations]
    later: dict[int, list[DealConflict]] = defaultdict(list)
    if ids:
        for c in DealConflict.objects.filter(
            other_id__in=ids, registration__status__in=ACTIVE_STATUSES
        ).select_related("registration__partner"):
            later[c.other_id].append(c)
    for reg in with_values(registrations):
        rows = [
            _conflict_row(c.other, float(c.score), c.fields, reg, fetched_by)
            for c in reg.conflicts.all()
            if c.other.status in ACTIVE_STATUSES
        ]
        rows += [
            _conflict_row(c.registration, float(c.score), c.fields, reg, fetched_by)
            for c in later[reg.pk]
        ]
        rows.sort(key=lambda r: (-r["score"], r["registration_id"]))
        reg.conflicts_now = rows
        reg.priority = not any(r["earlier"] for r in rows)
    return registrations


def live_conflicts(*, fetched_by: User, registration: DealRegistration) -> list[dict]:
    """The registration's conflicts found now (candidate indexes + matching), as staff see
    them, each marked whether it was submitted earlier (and so has priority)."""
    from partnerhub.deals.selectors import conflict_view
    from partnerhub.deals.services import conflicts_for, identity_of

    hits = conflicts_for(identity_of(registration), exclude_id=registration.pk)
    out = []
    for hit in hits:
        view = conflict_view(fetched_by, hit, set())
        view["earlier"] = (hit.registration.submission_seq or 0) < (
            registration.submission_seq or 0
        )
        view["status_label"] = hit.registration.get_status_display()
        view["fields"] = _labelled(view["fields"])
        view["visible"] = fetched_by.has_perm("partners.view_partner", hit.registration.partner)
        out.append(view)
    return out


def pending_extensions(*, fetched_by: User) -> QuerySet[DealExtension]:
    from partnerhub.deals.selectors import extension_list

    return (
        extension_list(fetched_by=fetched_by, status=ExtensionStatus.PENDING)
        .select_related("requested_by", "registration__partner__partner_manager")
        .order_by("requested_at", "id")
    )


# --- audit ------------------------------------------------------------------------------------


def audit_entries(*, fetched_by: User, model: str = "", actor: str = ""):
    """The audit trail as the API shows it to this user, newest first, filtered by model
    (``app_label.model``) and actor e-mail."""
    from partnerhub.core.audit_api import _visible_entries

    qs = (
        _visible_entries(fetched_by)
        .select_related("content_type", "actor")
        .order_by("-timestamp", "-id")
    )
    if model:
        app_label, _, name = model.lower().partition(".")
        qs = qs.filter(content_type__app_label=app_label, content_type__model=name)
    if actor:
        qs = qs.filter(actor__email__iexact=actor.strip())
    return qs


def audited_models() -> list[tuple[str, str]]:
    """(``app_label.model``, verbose name) of every audited model, sorted by name."""
    from auditlog.registry import auditlog

    models = [
        (f"{m._meta.app_label}.{m._meta.model_name}", str(m._meta.verbose_name).capitalize())
        for m in auditlog.get_models()
    ]
    return sorted(models, key=lambda item: item[1])
