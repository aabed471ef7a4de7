"""/api/v1/charging/sessions: charging sessions (CDRs): import as OCPI CDR JSON or CSV, list,
read, and export as OCPI CDR JSON. Thin handlers over ``imports`` and ``session_selectors``;
every permission question goes to core.permissions."""

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from ninja import Body, File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.pagination import paginate

from partnerhub.charging import imports, session_selectors
from partnerhub.charging.ocpi import ocpi_dumps, ocpi_loads
from partnerhub.charging.session_schemas import (
    MAX_REPORTED_ERRORS,
    CdrBody,
    SessionFilter,
    SessionImportReportOut,
    SessionOut,
)
from partnerhub.core.api import ERROR_RESPONSES, api
from partnerhub.core.permissions import require
from partnerhub.core.schemas import ObjectId, Pagination

router = Router(tags=["charging sessions"])
R = ERROR_RESPONSES

IMPORTERS_ONLY = "Only program admins and finance import charging sessions."
# A CSV upload above this size is refused (413): use ``partnerhub charging import``.
MAX_CSV_UPLOAD_BYTES = getattr(settings, "CHARGING_MAX_CSV_UPLOAD_BYTES", 100 * 1024 * 1024)


def _answer(request, report: imports.ImportReport, *, where: list):
    """The report (200), or 422 naming every refused row when nothing was stored."""
    if not report.refused:
        return report.as_dict(MAX_REPORTED_ERRORS)
    details = []
    for error in report.errors[:MAX_REPORTED_ERRORS]:
        loc = [*where, error.row]
        if error.field:
            loc.append(error.field)
        name = f", {error.field}" if error.field else ""
        details.append(
            {
                "loc": loc,
                "msg": f"Row {error.row}{name}: {error.message}",
                "type": "invalid_row",
            }
        )
    if len(report.errors) > MAX_REPORTED_ERRORS:
        details.append(
            {
                "loc": where,
                "msg": f"... and {len(report.errors) - MAX_REPORTED_ERRORS} more errors.",
                "type": "too_many_errors",
            }
        )
    return api.create_response(request, {"detail": details}, status=422)


@router.post(
    "/import",
    response={200: SessionImportReportOut, **R},
    summary="Import charging sessions (OCPI CDR JSON)",
)
def sessions_import(request, payload: Body[CdrBody], partial: bool = True):
    """The body is one OCPI 2.2.1 CDR object or a list of them (at most 10,000), as sent by
    the CSMS. Idempotent by CDR ``id``: CDRs already imported are counted as ``skipped``.
    Rows are the CDRs' positions (from 1) and ``field`` their JSON path. With
    ``partial=true`` (the default) the good CDRs are stored and the refused ones listed;
    with ``partial=false`` any refused CDR stores nothing and answers 422 with ``loc`` =
    ``["body", <position>, <field>]``. See docs/charging-import.md for the mapping."""
    require(request.auth, "charging.import_chargingsession", message=IMPORTERS_ONLY)
    data: Any = ocpi_loads(request.body)  # the same JSON, with exact decimal numbers
    report = imports.import_sessions_ocpi(data, partial=partial)
    return _answer(request, report, where=["body"])


@router.post(
    "/import-csv",
    response={200: SessionImportReportOut, **R},
    summary="Import charging sessions (CSV upload)",
)
def sessions_import_csv(request, file: File[UploadedFile], partial: Form[bool] = True):
    """A multipart upload of a CSV file in the format of docs/charging-import.md (at most
    100 MiB; larger files with ``partnerhub charging import``). Rows are the file's lines
    (header = 1). With ``partial=false`` any refused row stores nothing and answers 422 with
    ``loc`` = ``["body", "file", <line>, <column>]``; a file that cannot be read (header,
    encoding) answers 422 with ``loc`` = ``["body", "file", 1, "file"]``."""
    require(request.auth, "charging.import_chargingsession", message=IMPORTERS_ONLY)
    if file.size is not None and file.size > MAX_CSV_UPLOAD_BYTES:
        return api.create_response(
            request,
            {
                "detail": [
                    {
                        "loc": ["body", "file"],
                        "msg": f"The file is larger than {MAX_CSV_UPLOAD_BYTES} bytes; import "
                        "it with `partnerhub charging import`.",
                        "type": "too_large",
                    }
                ]
            },
            status=413,
        )
    report = imports.import_sessions_csv(file.file, partial=partial)
    return _answer(request, report, where=["body", "file"])


@router.get("", response={200: list[SessionOut], **R}, summary="List charging sessions")
@paginate(Pagination)
def session_list(request, filters: Query[SessionFilter]):
    """Sessions by start. Partner users see the sessions on the charge points their
    organisation hosted on the session's day and their corporate-billed sessions; partner
    managers those of their partners; other staff all. ``partner_id`` filters on the host."""
    return session_selectors.session_list(fetched_by=request.auth, **filters.as_kwargs())


@router.get("/{session_id}", response={200: SessionOut, **R}, summary="A charging session")
def session_get(request, session_id: ObjectId):
    return session_selectors.session_get(fetched_by=request.auth, session_id=session_id)


@router.get(
    "/{session_id}/cdr",
    response={200: dict[str, Any], **R},
    summary="A charging session as an OCPI CDR",
)
def session_cdr(request, session_id: ObjectId):
    """The OCPI 2.2.1 CDR as received when the session was imported as OCPI JSON, else one
    built from the stored columns (numbers written exactly)."""
    session = session_selectors.session_get(fetched_by=request.auth, session_id=session_id)
    require(request.auth, "charging.view_chargingsession", session)
    body = ocpi_dumps(session_selectors.session_cdr(session))
    return HttpResponse(body, content_type="application/json")
