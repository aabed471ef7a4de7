"""Console-specific reads: aggregates and lookups the vendor console shows, always scoped by
``visible_partners(fetched_by)`` (a partner manager sees the partners assigned to them).

The number of queries never grows with the number of partners or registrations summarised
(some functions run one aggregate per program): lists are prefetched, sums are SQL aggregates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import Lead
from django.shortcuts import get_object_or_404
from django.utils import timezone

from partnerhub.accounts.models import StaffRole, User
from partnerhub.console.models import ProgramHealth
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import (
    reads_all_partners,
    scope_to_visible_partners,
    visible_partners,
)
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
#
# Each figure is computed in two steps: a set-based SQL query giving raw, JSON-ready rows
# (``*_figures``), then shaping for the page (``_shape_*``) against the catalogue. The staff who
# read every partner see the rows stored in the ``ProgramHealth`` snapshot (``health_figures``
# with no user, refreshed by ``services.program_health_refresh``); everyone else (a partner
# manager) gets the same rows computed live over their partners.


def _scoped(qs: QuerySet, fetched_by: User | None, field: str = "partner") -> QuerySet:
    """``qs`` over the partners ``fetched_by`` sees; ``None`` is the snapshot: every partner."""
    return qs if fetched_by is None else scope_to_visible_partners(qs, fetched_by, field)


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


def tier_figures(fetched_by: User | None) -> dict:
    """Partners per tier per track (PartnerTier) and members per track: two GROUP BY queries.
    ``{"tiers": [[program id, track, tier, n]], "members": [[program id, track, n]]}``."""
    tiers = (
        _scoped(PartnerTier.objects.all(), fetched_by)
        .values_list("program_id", "track_key", "tier_key")
        .annotate(n=Count("id"))
        .order_by()
    )
    members = (
        _scoped(TrackMembership.objects.all(), fetched_by)
        .values_list("program_id", "track_key")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "tiers": sorted([list(row) for row in tiers]),
        "members": sorted([list(row) for row in members]),
    }


def _shape_tiers_now(figures: dict, tracks: dict[tuple[int, str], TrackInfo]) -> list:
    counts: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for program_id, track_key, tier_key, n in figures["tiers"]:
        counts[(program_id, track_key)][tier_key] += n
    members = {(program_id, track_key): n for program_id, track_key, n in figures["members"]}
    keys = list(tracks) + sorted(k for k in set(counts) | set(members) if k not in tracks)
    programs = _programs_if_unknown(keys, tracks)
    out = []
    for key in keys:
        if key not in counts and key not in members:
            continue
        if key not in tracks and key[0] not in programs:
            continue  # a program deleted since the snapshot
        info = tracks.get(key) or _unknown_track(programs[key[0]], key[1])
        per_tier = counts.get(key, Counter())
        ordered = [(k, name, per_tier.get(k, 0)) for k, name in info.tiers]
        ordered += [(k, k, n) for k, n in sorted(per_tier.items()) if k not in dict(info.tiers)]
        evaluated = sum(per_tier.values())
        out.append(TrackCounts(info, ordered, max(members.get(key, 0) - evaluated, 0)))
    return out


def _programs_if_unknown(keys, tracks) -> dict[int, Program]:
    """Programs by id, read (one query) only when a track is not in the catalogue."""
    unknown = {key[0] for key in keys if key not in tracks}
    return Program.objects.in_bulk(unknown) if unknown else {}


def tiers_now(*, fetched_by: User, tracks: dict[tuple[int, str], TrackInfo]) -> list[TrackCounts]:
    """Partners per tier in every track (PartnerTier), and members not evaluated yet."""
    return _shape_tiers_now(tier_figures(fetched_by), tracks)


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


def history_figures(fetched_by: User | None, ends: list[dt.date]) -> list[list]:
    """Partners per tier at each month end, from TierChange in one statement: every change
    up to the last month end becomes a span from its day until the membership's next change
    (``LEAD``, in the order the changes were made: day, then id), and a span counts at a month
    end it covers. ``[[month index, program id, track, tier, n]]``."""
    if not ends:
        return []
    spans = (
        _scoped(TierChange.objects.filter(effective_on__lte=ends[-1]), fetched_by)
        .annotate(
            until=Window(
                Lead("effective_on"),
                partition_by=[F("partner_id"), F("program_id"), F("track_key")],
                order_by=[F("effective_on").asc(), F("id").asc()],
            )
        )
        .values_list("program_id", "track_key", "to_tier_key", "effective_on", "until")
        .order_by()
    )
    spans_sql, spans_params = spans.query.sql_with_params()
    day = "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"
    ends_sql = " UNION ALL ".join(
        f"SELECT {i} AS idx, {day} AS month_end" for i in range(len(ends))
    )
    sql = f"""
        WITH spans(program_id, track_key, tier_key, since, until) AS ({spans_sql}),
        ends AS ({ends_sql})
        SELECT e.idx, s.program_id, s.track_key, s.tier_key, COUNT(*)
        FROM spans s JOIN ends e
          ON s.since <= e.month_end AND (s.until IS NULL OR s.until > e.month_end)
        GROUP BY e.idx, s.program_id, s.track_key, s.tier_key
    """
    params = [*spans_params, *(connection.ops.adapt_datefield_value(e) for e in ends)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted([list(row) for row in cursor.fetchall()])


def _shape_history(
    rows: list[list], tracks: dict[tuple[int, str], TrackInfo], ends: list[dt.date]
) -> list[TrackHistory]:
    snapshots: dict[tuple[int, str], list[Counter]] = {}
    for idx, program_id, track_key, tier_key, n in rows:
        series = snapshots.setdefault((program_id, track_key), [Counter() for _ in ends])
        series[idx][tier_key] += n
    keys = list(tracks) + sorted(k for k in snapshots if k not in tracks)
    programs = _programs_if_unknown([k for k in keys if k in snapshots], tracks)
    out = []
    for key in keys:
        if key not in snapshots or (key not in tracks and key[0] not in programs):
            continue
        info = tracks.get(key) or _unknown_track(programs[key[0]], key[1])
        series = snapshots[key]
        seen = {k for c in series for k, n in c.items() if n}
        if not seen:
            continue
        shown = [(k, name) for k, name in info.tiers]
        shown += [(k, k) for k in sorted(seen) if k not in dict(info.tiers)]
        out.append(
            TrackHistory(info, ends, shown, [{k: c.get(k, 0) for k, _ in shown} for c in series])
        )
    return out


def tiers_over_time(
    *, fetched_by: User, tracks: dict[tuple[int, str], TrackInfo], ends: list[dt.date]
) -> list[TrackHistory]:
    """Partners per tier at each month end (``history_figures``), per track."""
    return _shape_history(history_figures(fetched_by, ends), tracks, ends)


@dataclass
class Amount:
    amount: object  # Decimal
    currency: str


def pipeline_figures(fetched_by: User | None) -> list[list]:
    """Registrations per status and currency (drafts left out): count and estimated value in
    minor units, one aggregate query. ``[[status, currency, n, value minor]]``."""
    rows = (
        _scoped(DealRegistration.objects.exclude(status=DealStatus.DRAFT), fetched_by)
        .values_list("status", "currency")
        .annotate(n=Count("id"), value=Sum("estimated_value_minor"))
        .order_by()
    )
    return sorted([[s, c, n, v or 0] for s, c, n, v in rows])


def _shape_pipeline(rows: list[list]) -> list[dict]:
    per_status: dict[str, dict] = {}
    for status, currency, n, value in rows:
        entry = per_status.setdefault(status, {"count": 0, "values": []})
        entry["count"] += n
        entry["values"].append(Amount(from_minor(value or 0, currency), currency))
    out = []
    for status, label in DealStatus.choices:
        if status == DealStatus.DRAFT:
            continue
        entry = per_status.get(status, {"count": 0, "values": []})
        entry["values"].sort(key=lambda a: a.currency)
        out.append({"status": status, "label": label, **entry})
    return out


def pipeline(*, fetched_by: User) -> list[dict]:
    """Registrations per status (drafts left out): count and estimated value per currency."""
    return _shape_pipeline(pipeline_figures(fetched_by))


def review_counts(*, fetched_by: User) -> dict[str, int]:
    """Registrations waiting for review and pending extension requests (two counts, always
    live: they are what the reviewers work through)."""
    return {
        "submitted": _scoped(
            DealRegistration.objects.filter(status=DealStatus.SUBMITTED), fetched_by
        ).count(),
        "extensions": _scoped(
            DealExtension.objects.filter(status=ExtensionStatus.PENDING),
            fetched_by,
            "registration__partner",
        ).count(),
    }


def top_figures(fetched_by: User | None, on: dt.date, limit: int = 10) -> list[dict]:
    """Per program in force: the partners (members of it) with the highest net billings in the
    program's currency in its fiscal year up to ``on``, one aggregate query per program.
    ``[{"program_id", "currency", "start", "rows": [[partner id, name, total minor]]}]``."""
    from partnerhub.sales.models import BillingLine

    out = []
    for version in current_versions(on).values():
        start = fiscal_year_start(
            on, version.fiscal_year_start_month, version.fiscal_year_start_day
        )
        members = _scoped(TrackMembership.objects.filter(program_id=version.program_id), fetched_by)
        rows = (
            BillingLine.objects.filter(
                partner_id__in=members.values("partner_id"),
                currency=version.currency,
                invoice_date__gte=start,
                invoice_date__lte=on,
            )
            .values_list("partner_id", "partner__display_name")
            .annotate(total=Sum("net_amount_minor"))
            .order_by("-total", "partner__display_name")[:limit]
        )
        out.append(
            {
                "program_id": version.program_id,
                "currency": version.currency,
                "start": start.isoformat(),
                "rows": [[pid, name, total or 0] for pid, name, total in rows],
            }
        )
    return out


def _shape_top(blocks: list[dict]) -> list[dict]:
    programs = Program.objects.in_bulk([b["program_id"] for b in blocks]) if blocks else {}
    out = [
        {
            "program": programs[b["program_id"]],
            "currency": b["currency"],
            "start": dt.date.fromisoformat(b["start"]),
            "rows": [
                {"partner_id": pid, "name": name, "total": from_minor(total, b["currency"])}
                for pid, name, total in b["rows"]
            ],
        }
        for b in blocks
        if b["program_id"] in programs
    ]
    return sorted(out, key=lambda b: b["program"].name)


def top_partners_by_billings(
    *, fetched_by: User, limit: int = 10, on: dt.date | None = None
) -> list[dict]:
    """Per program: the partners (members of it) with the highest net billings in the
    program's currency in its fiscal year to date."""
    return _shape_top(top_figures(fetched_by, on or timezone.localdate(), limit))


def health_figures(fetched_by: User | None, on: dt.date) -> dict:
    """Every figure of the program health page as of ``on``, JSON-ready (what a
    ``ProgramHealth`` snapshot stores, with ``fetched_by=None``: every partner)."""
    ends = month_ends(on)
    return {
        "as_of": on.isoformat(),
        "ends": [e.isoformat() for e in ends],
        "tiers_now": tier_figures(fetched_by),
        "history": history_figures(fetched_by, ends),
        "pipeline": pipeline_figures(fetched_by),
        "top": top_figures(fetched_by, on),
    }


@dataclass
class Health:
    """The program health page's figures, shaped; ``snapshot`` is the stored snapshot they
    come from (None when computed live for this user)."""

    as_of: dt.date
    tiers_now: list[TrackCounts]
    history: list[TrackHistory]
    pipeline: list[dict]
    top: list[dict]
    snapshot: ProgramHealth | None = None


def latest_health() -> ProgramHealth | None:
    return ProgramHealth.objects.order_by("-computed_at", "-id").first()


def shape_health(figures: dict, snapshot: ProgramHealth | None = None) -> Health:
    """The page's figures from raw ones (a snapshot's or computed live), against today's
    catalogue of tracks and tiers."""
    as_of = dt.date.fromisoformat(figures["as_of"])
    tracks = catalogue(as_of)
    ends = [dt.date.fromisoformat(e) for e in figures["ends"]]
    return Health(
        as_of=as_of,
        tiers_now=_shape_tiers_now(figures["tiers_now"], tracks),
        history=_shape_history(figures["history"], tracks, ends),
        pipeline=_shape_pipeline(figures["pipeline"]),
        top=_shape_top(figures["top"]),
        snapshot=snapshot,
    )


def program_health(*, fetched_by: User, on: dt.date, snapshot: ProgramHealth | None) -> Health:
    """What the console home shows ``fetched_by``: the snapshot's figures for the staff who
    read every partner (``snapshot`` given), otherwise computed live over their partners."""
    if snapshot is not None and reads_all_partners(fetched_by):
        return shape_health(snapshot.figures, snapshot)
    return shape_health(health_figures(fetched_by, on))


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
    q: str = "",
) -> QuerySet[Partner]:
    """The partners list with its filters. ``track`` is ``program_key:track_key``, ``tier``
    ``program_key:track_key:tier_key``; ``q`` part of a name or website. Memberships, tiers
    and manager come prefetched."""
    program_key, _, track_key = track.partition(":")
    qs = partner_list(
        fetched_by=fetched_by,
        q=q or None,
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


def review_queue(*, fetched_by: User) -> QuerySet[DealRegistration]:
    """Submitted registrations waiting for a decision, oldest submission first, with what the
    queue shows prefetched: ``deals.selectors.review_queue``, but with no partner filter at all
    for the staff who read every partner (``scope_to_visible_partners``)."""
    from django.db.models import Prefetch

    from partnerhub.deals.models import DealProduct

    return (
        _scoped(DealRegistration.objects.filter(status=DealStatus.SUBMITTED), fetched_by)
        .select_related("partner", "program")
        .prefetch_related(
            Prefetch("products", queryset=DealProduct.objects.select_related("product")),
            "attachments",
            Prefetch("conflicts", queryset=DealConflict.objects.select_related("other__partner")),
        )
        .order_by("submission_seq")
    )


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
    return (
        _scoped(
            DealExtension.objects.filter(status=ExtensionStatus.PENDING),
            fetched_by,
            "registration__partner",
        )
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
