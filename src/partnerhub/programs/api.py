"""/api/v1/programs: upload program YAML, list programs and versions, read tracks and tiers."""

from django.core.exceptions import PermissionDenied
from ninja import Path, Router, Status

from partnerhub.core.api import ERROR_RESPONSES, api
from partnerhub.core.schemas import ErrorOut, ShortText
from partnerhub.programs import selectors, services
from partnerhub.programs.schema import ProgramInvalid
from partnerhub.programs.schemas import (
    ProgramLoadOut,
    ProgramOut,
    ProgramSourceIn,
    VersionOut,
    VersionSourceOut,
    VersionSummaryOut,
)

router = Router(tags=["programs"])
R = ERROR_RESPONSES
Key = ShortText(64, 1)


@router.get("", response={200: list[ProgramOut], **R}, summary="List programs")
def program_list(request):
    return [selectors.program_summary(p) for p in selectors.program_list()]


@router.post(
    "",
    response={
        200: ProgramLoadOut,
        201: ProgramLoadOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
    },
    summary="Load a program from YAML",
)
def program_load(request, payload: ProgramSourceIn):
    """Validate the YAML and store it as a new version when it changed (201), or return the
    unchanged current version (200). A wrong file answers 400 with every error, its YAML path
    in ``loc`` and its ``line``; nothing is stored."""
    if not request.auth.has_perm("programs.add_program"):
        raise PermissionDenied("Only program admins load programs.")
    try:
        result = services.program_load(source=payload.source, actor=request.auth)
    except ProgramInvalid as exc:
        details = [
            {
                "loc": ["body", "source", *([e.path] if e.path else [])],
                "msg": e.message,
                "type": "program_invalid",
                "line": e.line,
            }
            for e in exc.errors
        ]
        return api.create_response(request, {"detail": details}, status=400)
    program = selectors.program_get(key=result.version.program.key)
    version = selectors.version_get(program=program, number=result.version.number)
    return Status((201 if result.created else 200), {"created": result.created, "version": version})


@router.get("/{key}", response={200: ProgramOut, **R}, summary="Read a program")
def program_get(request, key: Path[Key]):
    return selectors.program_summary(selectors.program_get(key=key))


@router.get(
    "/{key}/versions", response={200: list[VersionSummaryOut], **R}, summary="List versions"
)
def version_list(request, key: Path[Key]):
    return list(selectors.version_list(program=selectors.program_get(key=key)))


@router.get("/{key}/current", response={200: VersionOut, **R}, summary="The version in force today")
def version_current(request, key: Path[Key]):
    return selectors.version_current(program=selectors.program_get(key=key))


@router.get(
    "/{key}/versions/{number}",
    response={200: VersionOut, **R},
    summary="Read a version with its tracks and tiers",
)
def version_get(request, key: Path[Key], number: Path[int]):
    if not 1 <= number <= 1_000_000:
        from django.http import Http404

        raise Http404("No such version.")
    return selectors.version_get(program=selectors.program_get(key=key), number=number)


@router.get(
    "/{key}/versions/{number}/source",
    response={200: VersionSourceOut, **R},
    summary="The YAML a version was loaded from",
)
def version_source(request, key: Path[Key], number: Path[int]):
    version = version_get(request, key, number)
    return {"number": version.number, "source": version.source_yaml}
