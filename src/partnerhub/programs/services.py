"""Loading programs from YAML: validate, then store a new immutable version (or nothing)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from partnerhub.accounts.models import User
from partnerhub.core.errors import Conflict
from partnerhub.programs.models import Program, ProgramVersion, Tier, Track
from partnerhub.programs.schema import (
    ProgramError,
    ProgramInvalid,
    ProgramSpec,
    parse_program,
    source_line,
)


@dataclass(frozen=True)
class LoadResult:
    version: ProgramVersion
    created: bool


def definition_hash(spec: ProgramSpec) -> str:
    """Hash of the validated content: comments and formatting do not make a new version."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def program_load(*, source: str, actor: User | None = None) -> LoadResult:
    """Validate ``source`` and store it as a new version of its program when it changed.

    Loading the same content again returns the latest version unchanged (created=False).
    Raises ProgramInvalid listing every error; nothing is stored then.
    """
    spec = parse_program(source)
    digest = definition_hash(spec)
    program = Program.objects.select_for_update().filter(key=spec.key).first()
    latest = program.versions.order_by("-number").first() if program else None
    if latest is not None and latest.content_hash == digest:
        return LoadResult(latest, False)
    effective_from = spec.effective_from or timezone.localdate()
    if latest is not None and effective_from < latest.effective_from:
        raise ProgramInvalid(
            [
                ProgramError(
                    "effective_from",
                    source_line(source, ("effective_from",)),
                    f"a new version must take effect on or after the current version's date "
                    f"({latest.effective_from.isoformat()}); got {effective_from.isoformat()}",
                )
            ]
        )
    if program is None:
        try:
            with transaction.atomic():
                program = Program.objects.create(key=spec.key, name=spec.name)
        except IntegrityError:
            # Another load of the same new program committed first.
            raise Conflict(
                f"Program '{spec.key}' was just created by another load; send the file again.",
                field="source",
            ) from None
    elif program.name != spec.name:
        program.name = spec.name
        program.save(update_fields=["name"])
    version = store_version(
        program=program,
        spec=spec,
        source=source,
        effective_from=effective_from,
        actor=actor,
        digest=digest,
    )
    return LoadResult(version, True)


def store_version(
    *,
    program: Program,
    spec: ProgramSpec,
    source: str,
    effective_from,
    actor: User | None = None,
    digest: str | None = None,
) -> ProgramVersion:
    """Write a validated program as the next version of ``program`` with its tracks and tiers.

    Callers decide whether a version is due (program_load) or store one inside a transaction
    they roll back (the what-if simulation)."""
    latest_number = program.versions.order_by("-number").values_list("number", flat=True).first()
    month, day = spec.fiscal_year_start_month_day
    version = ProgramVersion.objects.create(
        program=program,
        number=(latest_number or 0) + 1,
        name=spec.name,
        currency=spec.currency,
        fiscal_year_start_month=month,
        fiscal_year_start_day=day,
        effective_from=effective_from,
        policies=spec.policies.model_dump(mode="json"),
        product_categories=list(spec.product_categories),
        definition=spec.model_dump(mode="json"),
        source_yaml=source,
        content_hash=digest or definition_hash(spec),
        loaded_by=actor,
    )
    for t_index, track_spec in enumerate(spec.tracks):
        track = Track.objects.create(
            version=version,
            key=track_spec.key,
            name=track_spec.name,
            description=track_spec.description,
            position=t_index,
        )
        Tier.objects.bulk_create(
            Tier(
                track=track,
                key=tier_spec.key,
                name=tier_spec.name,
                rank=rank,
                gate=tier_spec.gate or "",
                requirements=[
                    r.model_dump(mode="json", exclude_none=True) for r in tier_spec.requirements
                ],
                benefits=tier_spec.benefits.model_dump(mode="json", exclude_none=True),
            )
            for rank, tier_spec in enumerate(track_spec.tiers)
        )
    return version
