"""/api/v1/sales: product catalogue, billing-line imports (JSON and CSV), lines and customers."""

from django.conf import settings
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from partnerhub.core.api import ERROR_RESPONSES, api
from partnerhub.core.permissions import require
from partnerhub.core.schemas import ObjectId, Pagination
from partnerhub.sales import selectors, services
from partnerhub.sales.imports import CsvError, billing_rows
from partnerhub.sales.schemas import (
    MAX_REPORTED_ERRORS,
    BillingImportIn,
    BillingImportReportOut,
    BillingLineFilter,
    BillingLineOut,
    CustomerFilter,
    CustomerOut,
    ProductCategoryIn,
    ProductCategoryOut,
    ProductFilter,
    ProductIn,
    ProductOut,
    ProductPatch,
)

router = Router(tags=["sales"])
R = ERROR_RESPONSES

# A CSV upload above this size is refused (413): use ``partnerhub sales import-billing``.
MAX_CSV_UPLOAD_BYTES = getattr(settings, "SALES_MAX_CSV_UPLOAD_BYTES", 50 * 1024 * 1024)

# --- permissions: decided by the permission layer (core/permissions.py) ---------------------


IMPORTERS_ONLY = "Only program admins and finance import billing lines."
CATALOGUE_EDITORS_ONLY = "Only program admins and finance change the product catalogue."


# --- categories and products ----------------------------------------------------------------


@router.get(
    "/categories", response={200: list[ProductCategoryOut], **R}, summary="List product categories"
)
def category_list(request):
    return list(selectors.category_list())


@router.post(
    "/categories", response={201: ProductCategoryOut, **R}, summary="Create a product category"
)
def category_create(request, payload: ProductCategoryIn):
    require(request.auth, "sales.add_productcategory", message=CATALOGUE_EDITORS_ONLY)
    return Status(
        201,
        services.product_category_create(key=payload.key, name=payload.name, actor=request.auth),
    )


@router.get("/products", response={200: list[ProductOut], **R}, summary="List products")
@paginate(Pagination)
def product_list(request, filters: Query[ProductFilter]):
    return selectors.product_list(**filters.dict())


@router.post("/products", response={201: ProductOut, **R}, summary="Create a product")
def product_create(request, payload: ProductIn):
    """``list_price`` is a decimal string in ``currency`` with at most the currency's decimals
    (no rounding); ``category`` and ``required_certification`` are keys."""
    require(request.auth, "sales.add_product", message=CATALOGUE_EDITORS_ONLY)
    data = payload.dict()
    data["list_price"] = str(data["list_price"])
    product = services.product_create(actor=request.auth, **data)
    return Status(201, selectors.product_get(product_id=product.pk))


@router.get("/products/{product_id}", response={200: ProductOut, **R}, summary="Read a product")
def product_get(request, product_id: ObjectId):
    return selectors.product_get(product_id=product_id)


@router.patch("/products/{product_id}", response={200: ProductOut, **R}, summary="Change a product")
def product_update(request, product_id: ObjectId, payload: ProductPatch):
    """Send only the fields to change; ``required_certification: null`` removes the gate. A
    new ``currency`` without ``list_price`` keeps the price's amount."""
    product = selectors.product_get(product_id=product_id)
    require(request.auth, "sales.change_product", message=CATALOGUE_EDITORS_ONLY)
    data = payload.dict(exclude_unset=True)
    if data.get("list_price") is not None:
        data["list_price"] = str(data["list_price"])
    services.product_update(actor=request.auth, product=product, data=data)
    return selectors.product_get(product_id=product_id)


# --- billing lines --------------------------------------------------------------------------


def _report_out(report: services.ImportReport) -> dict:
    return report.as_dict(MAX_REPORTED_ERRORS)


def _refused(request, report: services.ImportReport, *, where: str, row_offset: int):
    """400 naming every bad row: loc ``["body", where, <index>, <column>]``."""
    details = []
    for error in report.errors[:MAX_REPORTED_ERRORS]:
        loc = ["body", where, error["row"] - row_offset]
        if error["column"]:
            loc.append(error["column"])
        column = f", {error['column']}" if error["column"] else ""
        details.append(
            {
                "loc": loc,
                "msg": f"Row {error['row']}{column}: {error['message']}",
                "type": "invalid_row",
            }
        )
    if len(report.errors) > MAX_REPORTED_ERRORS:
        details.append(
            {
                "loc": ["body", where],
                "msg": f"... and {len(report.errors) - MAX_REPORTED_ERRORS} more errors.",
                "type": "too_many_errors",
            }
        )
    return api.create_response(request, {"detail": details}, status=400)


@router.post(
    "/billing-lines/import",
    response={200: BillingImportReportOut, **R},
    summary="Import billing lines (JSON)",
)
def billing_lines_import(request, payload: BillingImportIn):
    """Idempotent by ``external_id``. All or nothing: any bad row answers 400 with one entry
    per error, ``loc`` = ``["body", "rows", <index>, <column>]`` (index from 0) and ``msg``
    naming the row (counted from 1); nothing is stored. With ``partial: true`` the good rows
    are stored and the bad ones listed in the 200 report."""
    require(request.auth, "sales.add_billingline", message=IMPORTERS_ONLY)
    report = services.billing_lines_import(
        rows=[row.dict() for row in payload.rows],
        partial=payload.partial,
        actor=request.auth,
        first_row=1,
    )
    if report.refused:
        return _refused(request, report, where="rows", row_offset=1)
    return _report_out(report)


@router.post(
    "/billing-lines/import-csv",
    response={200: BillingImportReportOut, **R},
    summary="Import billing lines (CSV upload)",
)
def billing_lines_import_csv(request, file: File[UploadedFile], partial: Form[bool] = False):
    """A multipart upload of a CSV file in the format of docs/sales-import.md (at most
    50 MiB; larger files with ``partnerhub sales import-billing``). Rows are numbered as the
    file's lines (header = 1); a refused file answers 400 with ``loc`` =
    ``["body", "file", <row>, <column>]``; a wrong header or encoding with
    ``["body", "file"]``."""
    require(request.auth, "sales.add_billingline", message=IMPORTERS_ONLY)
    if file.size is not None and file.size > MAX_CSV_UPLOAD_BYTES:
        return api.create_response(
            request,
            {
                "detail": [
                    {
                        "loc": ["body", "file"],
                        "msg": f"The file is larger than {MAX_CSV_UPLOAD_BYTES} bytes; import "
                        "it with `partnerhub sales import-billing`.",
                        "type": "too_large",
                    }
                ]
            },
            status=413,
        )
    try:
        report = services.billing_lines_import(
            rows=billing_rows(file), partial=partial, actor=request.auth
        )
    except CsvError as exc:
        return api.create_response(
            request,
            {"detail": [{"loc": ["body", "file"], "msg": str(exc), "type": "invalid_csv"}]},
            status=400,
        )
    if report.refused:
        return _refused(request, report, where="file", row_offset=0)
    return _report_out(report)


@router.get(
    "/billing-lines", response={200: list[BillingLineOut], **R}, summary="List billing lines"
)
@paginate(Pagination)
def billing_line_list(request, filters: Query[BillingLineFilter]):
    """Lines of the partners the caller may see: partner users their organisation (and the
    partners below it), partner managers their partners, other staff all."""
    return selectors.billing_line_list(fetched_by=request.auth, **filters.dict())


# --- customers ------------------------------------------------------------------------------


@router.get("/customers", response={200: list[CustomerOut], **R}, summary="List customers")
@paginate(Pagination)
def customer_list(request, filters: Query[CustomerFilter]):
    """End customers (vendor staff only)."""
    require(request.auth, "sales.view_customer", message="Only vendor staff see the customer list.")
    return selectors.customer_list(**filters.dict())
