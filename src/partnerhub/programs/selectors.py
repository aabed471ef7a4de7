"""Reads for programs; every authenticated user may read programs (they are the rules)."""

from __future__ import annotations

from django.db.models import Count, Max, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from partnerhub.programs.models import Program, ProgramVersion, Tier, Track


def program_list() -> QuerySet[Program]:
    return Program.objects.annotate(version_count=Count("versions"), latest=Max("versions__number"))


def program_summary(program: Program) -> dict:
    current = program.version_as_of(timezone.localdate())
    return {
        "key": program.key,
        "name": program.name,
        "current_version": current.number if current else None,
        "latest_version": getattr(program, "latest", None),
        "versions": getattr(program, "version_count", 0),
    }


def program_get(*, key: str) -> Program:
    return get_object_or_404(program_list(), key=key)


def version_list(*, program: Program) -> QuerySet[ProgramVersion]:
    return program.versions.order_by("number")


def _with_tracks(qs: QuerySet[ProgramVersion]) -> QuerySet[ProgramVersion]:
    return qs.select_related("program").prefetch_related(
        Prefetch(
            "tracks",
            queryset=Track.objects.prefetch_related(
                Prefetch("tiers", queryset=Tier.objects.order_by("rank"))
            ),
        )
    )


def version_get(*, program: Program, number: int) -> ProgramVersion:
    return get_object_or_404(_with_tracks(program.versions.all()), number=number)


def version_current(*, program: Program) -> ProgramVersion:
    version = program.version_as_of(timezone.localdate())
    if version is None:
        from django.http import Http404

        raise Http404("This program has no version in force today.")
    return _with_tracks(program.versions.all()).get(pk=version.pk)
