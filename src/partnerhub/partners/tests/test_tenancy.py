"""Tenancy matrix: who may read and write what, endpoint by endpoint (Saleor-style).

Every operation of the API (partners, tiers, training and sales alike) appears in one of the
tables below (``PARTNER_SCOPED``, ``GLOBAL``) or in the ``PUBLIC`` allow-list;
``test_every_api_operation_is_in_the_matrix`` fails when an endpoint is added without being
placed here. Partner-scoped operations include those that address an object of a partner by
its own id (``/tiers/overrides/{override_id}``...): the object's partner decides.

The rules checked:
- another tenant's partner (or a foreign object under one's own partner) answers 404 for
  reads and writes alike, so existence does not leak, and nothing is written;
- a sub-operator sees itself and its children; a child sees neither parent nor sibling;
- a partner manager sees only the partners assigned to them;
- finance and viewer read every partner but get 403 on writes;
- anonymous callers get 401 everywhere except the public operations.

The data (``world`` from conftest.py plus one of each object per partner) is built once for the
module inside a transaction rolled back at its end; each test runs in a savepoint within it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import SimpleNamespace

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from partnerhub.accounts.models import User
from partnerhub.charging.models import (
    ChargePoint,
    ChargePointHosting,
    ChargingSession,
    Connector,
    CorporateBilling,
    Driver,
    ElectricityPrice,
    Evse,
    Location,
    StatusNotification,
    Tariff,
    TariffAssignment,
    TariffGroup,
)
from partnerhub.core.models import Event
from partnerhub.deals.models import (
    DealAttachment,
    DealConflict,
    DealExtension,
    DealProduct,
    DealRegistration,
    DealStatusChange,
)
from partnerhub.incentives.models import (
    AccrualRun,
    CustomerPayment,
    LedgerEntry,
    PayoutRun,
    RebateClose,
    ReferralElection,
    SpiffCampaign,
    SpiffClaim,
)
from partnerhub.mdf.models import MdfAllocation, MdfClaim, MdfExpiryRun, MdfProof, MdfRequest
from partnerhub.partners.models import (
    Contact,
    Invitation,
    Partner,
    PartnerApplication,
    PartnerUser,
    StatusChange,
    TrackMembership,
)
from partnerhub.programs.models import Program
from partnerhub.quotes.models import CreditLine, NfrPurchase, Quote, QuoteLine
from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory
from partnerhub.settlements.models import (
    Contract,
    Payment,
    SessionSettlement,
    SettlementRun,
    Statement,
    StatementLine,
)
from partnerhub.tiers.models import (
    EvaluationRun,
    EvidenceItem,
    Nomination,
    PartnerTier,
    SurveyResponse,
    TierChange,
    TierOverride,
)
from partnerhub.training.models import (
    Certification,
    Competency,
    Course,
    CourseCompletion,
    Person,
    PersonCertification,
)
from partnerhub.webhooks.models import WebhookDelivery, WebhookEndpoint

PREFIX = "/api/v1"
EXAMPLES = Path(__file__).resolve().parents[4] / "examples/programs"
EXAMPLE_PROGRAM = EXAMPLES / "ev-hardware.yaml"
# Gated tiers (application, invite-only) to nominate partners for: ev-hardware has none.
GATED_PROGRAM = EXAMPLES / "saas-three-tier.yaml"

# Actor categories for partner-scoped endpoints (each is a user acting on a partner in scope).
ADMIN = "program_admin"  # program admin, on any partner
MANAGER = "manager"  # the partner's assigned partner manager
READER = "reader"  # finance or viewer, on any partner
P_ADMIN = "partner_admin"  # a partner admin, on its own organisation
P_MEMBER = "partner_member"  # a non-admin partner user (sales), on its own organisation
OPERATOR = "operator"  # a sub-operator's admin, on one of its children
EVERYONE = frozenset({ADMIN, MANAGER, READER, P_ADMIN, P_MEMBER, OPERATOR})
EDITORS = frozenset({ADMIN, MANAGER, P_ADMIN, OPERATOR})
STAFF_EDITORS = frozenset({ADMIN, MANAGER})
PROGRAM_ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # as in the OpenAPI schema
    allowed: frozenset = EVERYONE
    ok: int = 200
    body: dict | None = None
    # A CSV file sent as the multipart field ``file`` instead of a JSON body ("{name}" filled in).
    upload: str = ""
    id: str = field(default="", compare=False)
    # Path parameters filled from another scope key (e.g. a draft registration for PATCH).
    use: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # A POST that only computes (pricing a session): nothing is written.
    reads_only: bool = field(default=False, compare=False)
    # Form fields sent beside an ``upload`` (multipart).
    form: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.method.upper(), self.path

    @property
    def is_write(self) -> bool:
        return self.method != "get" and not self.reads_only

    def url(self, ids: dict) -> str:
        return self.path.format(**{**ids, **{k: ids[v] for k, v in self.use if v in ids}})

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path.removeprefix(PREFIX)}"


P = f"{PREFIX}/partners/{{partner_id}}"
PARTNER_SCOPED = [
    Op("get", P),
    Op("patch", P, EDITORS, body={"display_name": "Renamed by matrix"}),
    Op("post", f"{P}/status", STAFF_EDITORS, body={"status": "suspended", "reason": "Matrix"}),
    Op("get", f"{P}/status-history"),
    Op("get", f"{P}/contacts"),
    Op(
        "post",
        f"{P}/contacts",
        EDITORS,
        201,
        body={"role": "technical", "name": "Matrix Tech", "email": "tech@matrix.example.com"},
    ),
    Op("patch", f"{P}/contacts/{{contact_id}}", EDITORS, body={"name": "Renamed by matrix"}),
    Op("delete", f"{P}/contacts/{{contact_id}}", EDITORS, 204),
    Op("get", f"{P}/tracks"),
    Op(
        "post",
        f"{P}/tracks",
        STAFF_EDITORS,
        201,
        body={"program": "ev-hardware", "track": "distributor"},
    ),
    Op("delete", f"{P}/tracks/{{membership_id}}", STAFF_EDITORS, 204),
    Op("get", f"{P}/users"),
    Op("patch", f"{P}/users/{{user_id}}", EDITORS, body={"role": "sales"}),
    Op("get", f"{P}/invitations", EDITORS),
    Op(
        "post",
        f"{P}/invitations",
        EDITORS,
        201,
        body={"email": "invitee@matrix.example.com", "role": "sales"},
    ),
    Op("delete", f"{P}/invitations/{{invitation_id}}", EDITORS),
]

# Tiers (core/permissions.py, tiers.*): reads for whoever sees the partner; overrides,
# nominations and evidence by program admins and the partner's manager; decisions on
# nominations by program admins only (never on their own nomination: see
# test_nominator_cannot_approve_their_own_nomination).
T = f"{PREFIX}/tiers"
TP = f"{T}/partners/{{partner_id}}"
PARTNER_SCOPED += [
    Op("get", TP),
    Op("get", f"{TP}/explanation"),
    Op("get", f"{TP}/history"),
    Op("get", f"{TP}/overrides"),
    Op(
        "post",
        f"{TP}/overrides",
        STAFF_EDITORS,
        201,
        body={
            "program": "ev-hardware",
            "track": "var",
            "tier": "gold",
            "reason": "Matrix",
            "expires_on": "2099-12-31",
        },
    ),
    Op("delete", f"{T}/overrides/{{override_id}}", STAFF_EDITORS),
    Op(
        "post",
        f"{TP}/nominations",
        STAFF_EDITORS,
        201,
        body={
            "program": "brightlane",
            "track": "solution",
            "tier": "certified",
            "reason": "Matrix",
        },
    ),
    Op("post", f"{T}/nominations/{{nomination_id}}/approve", PROGRAM_ADMINS, body={}),
    Op(
        "post",
        f"{T}/nominations/{{nomination_id}}/reject",
        PROGRAM_ADMINS,
        body={"reason": "Matrix"},
    ),
    Op("get", f"{TP}/evidence"),
    Op("post", f"{TP}/evidence", STAFF_EDITORS, 201, body={"item": "case-study"}),
]

# Training: a partner's people and certifications are read by whoever sees the partner;
# people are changed by the staff who change the partner and by its admins; only program
# admins revoke a certification.
TR = f"{PREFIX}/training"
TRP = f"{TR}/partners/{{partner_id}}"
PARTNER_SCOPED += [
    Op("get", f"{TRP}/people"),
    Op(
        "post",
        f"{TRP}/people",
        EDITORS,
        201,
        body={"email": "learner@matrix.example.com", "full_name": "Matrix Learner"},
    ),
    Op("get", f"{TRP}/certifications"),
    Op("get", f"{TRP}/competencies"),
    Op(
        "post",
        f"{TR}/person-certifications/{{person_certification_id}}/revoke",
        PROGRAM_ADMINS,
        body={"reason": "Matrix"},
    ),
]
# Deal registrations: the registration's partner decides. Its people (every role) and the
# staff who manage it change it; only those staff review it. Each partner has a submitted
# registration (registration_id), a draft, an approved one, and one with a pending extension.
D = f"{PREFIX}/deals"
DR = f"{D}/registrations/{{registration_id}}"
DEAL_CHANGERS = EVERYONE - {READER}
DRAFT = (("registration_id", "draft_id"),)
APPROVED = (("registration_id", "approved_id"),)
PARTNER_SCOPED += [
    Op("get", DR),
    Op("patch", DR, DEAL_CHANGERS, body={"notes": "Matrix"}, use=DRAFT),
    Op("delete", DR, DEAL_CHANGERS, 204, use=DRAFT),
    Op("post", f"{DR}/submit", DEAL_CHANGERS, body={}, use=DRAFT),
    Op("post", f"{DR}/approve", STAFF_EDITORS, body={"override_reason": "Matrix"}),
    Op("post", f"{DR}/reject", STAFF_EDITORS, body={"reason": "Matrix"}),
    Op(
        "post",
        f"{DR}/close",
        DEAL_CHANGERS,
        body={"outcome": "lost", "reason": "Matrix"},
        use=APPROVED,
    ),
    Op(
        "post",
        f"{DR}/extensions",
        DEAL_CHANGERS,
        201,
        body={"days": 7, "reason": "Matrix"},
        use=APPROVED,
    ),
    Op("post", f"{D}/extensions/{{extension_id}}/decide", STAFF_EDITORS, body={"approve": True}),
    Op("post", f"{DR}/attachments", DEAL_CHANGERS, 201, upload="site plan of {registration_id}"),
    Op("get", f"{DR}/attachments/{{attachment_id}}"),
]

# Quotes (core/permissions.py, quotes.*): the quote's partner decides. Its people (every role)
# and the staff who manage it accept quotes; whoever sees the partner reads its quotes and its
# credit. Each partner has a draft quote through a distributor (quote_id).
Q = f"{PREFIX}/quotes"
PARTNER_SCOPED += [
    Op("get", f"{Q}/{{quote_id}}"),
    Op("post", f"{Q}/{{quote_id}}/accept", DEAL_CHANGERS, body={}),
    Op("get", f"{Q}/partners/{{partner_id}}/credit"),
]

# Charging (core/permissions.py, charging.*): the partner hosting (or owning) the object
# decides. Each partner hosts a location with one charge point (one AC EVSE), and has a tariff
# group, a tariff assigned to its charge point, a spare tariff, corporate billing and a driver;
# its contract in force lets its admins manage tariffs and create users. Assets, hosting and
# status are changed by program admins and the partner's manager; tariffs also by the
# partner's admins (contract permitting); drivers by its admins and managers.
C = f"{PREFIX}/charging"
CCP = f"{C}/charge-points/{{charge_point_id}}"
CT = f"{C}/tariffs/{{tariff_id}}"
SPARE_TARIFF = (("tariff_id", "spare_tariff_id"),)
PRICE_BODY = {"start": "2025-03-03T08:00:00Z", "end": "2025-03-03T10:00:00Z", "kwh": "20"}
PARTNER_SCOPED += [
    Op("get", f"{C}/locations/{{location_id}}"),
    Op("patch", f"{C}/locations/{{location_id}}", STAFF_EDITORS, body={"name": "Matrix"}),
    Op("get", CCP),
    Op("patch", CCP, STAFF_EDITORS, body={"vendor": "Matrix"}),
    Op("get", f"{CCP}/hostings"),
    Op(
        "post",
        f"{CCP}/hostings",
        STAFF_EDITORS,
        body={"partner_id": None, "valid_from": "2025-06-01"},
    ),
    Op("post", f"{CCP}/status", STAFF_EDITORS, 201, body={"status": "faulted"}),
    Op("get", f"{C}/evses/{{evse_id}}/tariff"),
    Op("get", CT),
    Op("get", f"{CT}/ocpi"),
    Op("patch", CT, EDITORS, body={"name": "Renamed by matrix"}),
    Op("delete", CT, EDITORS, 204, use=SPARE_TARIFF),
    Op("post", f"{CT}/price", body=PRICE_BODY, reads_only=True),
    Op("get", f"{CT}/assignments"),
    Op(
        "post",
        f"{CT}/assignments",
        EDITORS,
        201,
        body={"charge_point_id": "{charge_point_id}"},
    ),
    Op("delete", f"{C}/tariff-assignments/{{assignment_id}}", EDITORS, 204),
    Op("patch", f"{C}/tariff-groups/{{tariff_group_id}}", EDITORS, body={"name": "Matrix"}),
    Op("get", f"{C}/partners/{{partner_id}}/corporate-billing"),
    Op(
        "post",
        f"{C}/partners/{{partner_id}}/corporate-billing",
        STAFF_EDITORS,
        body={"currency": "EUR", "monthly_limit": "99.00"},
    ),
    Op("get", f"{C}/drivers/{{driver_id}}"),
    Op("patch", f"{C}/drivers/{{driver_id}}", EDITORS, body={"monthly_limit": "42.00"}),
]

# Charging sessions: read by whoever sees the partner that hosted the charge point on the
# session's day (or the partner billed under corporate billing). Each partner has one session
# on its own charge point (session_id).
CS = f"{C}/sessions"
PARTNER_SCOPED += [
    Op("get", f"{CS}/{{session_id}}"),
    Op("get", f"{CS}/{{session_id}}/cdr"),
]

# Settlements (core/permissions.py, settlements.*): contracts are read by whoever sees the
# partner and changed by program admins and its manager; statements (lines, per-session lines,
# exports, payments), running figures and driver receipts are read by whoever sees the
# partner. Each partner has a final statement of 2025-09 (statement_id) and a draft of 2025-10.
SE = f"{PREFIX}/settlements"
SEP = f"{SE}/partners/{{partner_id}}"
SES = f"{SE}/statements/{{statement_id}}"
SETTLEMENT_CONTRACT = (("contract_id", "settlement_contract_id"),)
PARTNER_SCOPED += [
    Op("get", f"{SEP}/contracts"),
    Op(
        "post",
        f"{SEP}/contracts",
        STAFF_EDITORS,
        201,
        body={
            "name": "Matrix 2100",
            "start_month": "2100-01",
            "end_month": "2100-12",
            "ac_share_percent": "30",
            "dc_share_percent": "40",
        },
    ),
    Op("get", f"{SE}/contracts/{{contract_id}}", use=SETTLEMENT_CONTRACT),
    Op(
        "patch",
        f"{SE}/contracts/{{contract_id}}",
        STAFF_EDITORS,
        body={"name": "M"},
        use=SETTLEMENT_CONTRACT,
    ),
    Op("get", f"{SEP}/statements"),
    Op("get", f"{SEP}/running"),
    Op("get", SES),
    Op("get", f"{SES}/lines"),
    Op("get", f"{SES}/sessions"),
    Op("get", f"{SES}/csv"),
    Op("get", f"{SES}/sessions-csv"),
    Op("get", f"{SES}/pdf"),
    Op("get", f"{SES}/payments"),
    Op("get", f"{SE}/drivers/{{driver_id}}/receipts"),
    Op("get", f"{SE}/drivers/{{driver_id}}/receipts/pdf"),
    Op("get", f"{SEP}/issued-receipts"),
]

# MDF (core/permissions.py, mdf.*): the request's (claim's) partner decides. Whoever sees the
# partner reads its fund, requests, claims and proof files; its people and the staff who manage
# it request, close and claim; only those staff approve and reject. Each partner has an
# allocation, a submitted request (request_id), an approved one and a claimed one whose claim
# (claim_id) carries a proof file (proof_id).
M = f"{PREFIX}/mdf"
MR = f"{M}/requests/{{request_id}}"
MC = f"{M}/claims/{{claim_id}}"
MDF_APPROVED = (("request_id", "mdf_approved_id"),)
PARTNER_SCOPED += [
    Op("get", f"{M}/partners/{{partner_id}}/balance"),
    Op("get", f"{M}/partners/{{partner_id}}/allocations"),
    Op("get", MR),
    Op("post", f"{MR}/approve", STAFF_EDITORS, body={}),
    Op("post", f"{MR}/reject", STAFF_EDITORS, body={"reason": "Matrix"}),
    Op("post", f"{MR}/close", DEAL_CHANGERS, body={}),
    Op(
        "post",
        f"{MR}/claims",
        DEAL_CHANGERS,
        201,
        upload="proof of {request_id}",
        form=(("actual_cost", "100.00"),),
        use=MDF_APPROVED,
    ),
    Op("get", MC),
    Op("post", f"{MC}/approve", STAFF_EDITORS, body={}),
    Op("post", f"{MC}/reject", STAFF_EDITORS, body={"reason": "Matrix"}),
    Op("get", f"{MC}/proofs/{{proof_id}}"),
]

# Incentives (core/permissions.py, incentives.*): a partner's statement (JSON, CSV, PDF) is read
# by whoever sees the partner; its SPIFF claims are decided by the staff who change it. Each
# partner has a submitted activity claim (spiff_claim_id) in the matrix campaign.
IN = f"{PREFIX}/incentives"
PARTNER_SCOPED += [
    Op("get", f"{IN}/statements/{{partner_id}}"),
    Op("get", f"{IN}/statements/{{partner_id}}/csv"),
    Op("get", f"{IN}/statements/{{partner_id}}/pdf"),
    Op(
        "post",
        f"{IN}/spiff-claims/{{spiff_claim_id}}/decision",
        STAFF_EDITORS,
        body={"approve": True},
    ),
]

WITH_SUB_OBJECT = [
    op for op in PARTNER_SCOPED if op.path.count("{") == 2 and "{partner_id}" in op.path
]

# Operations not about one partner: expected status per caller.
G_ROLES = ("anonymous", "program_admin", "manager", "finance", "viewer", "admin_a", "sales_a")


def _expect(default: int, **overrides: int) -> dict[str, int]:
    out = dict.fromkeys(G_ROLES, default)
    out["anonymous"] = 401
    out.update(overrides)
    return out


STAFF_ONLY_READ = _expect(403, program_admin=200, manager=200)
HIDDEN = _expect(404, program_admin=200, manager=200)

GLOBAL = [
    (Op("get", f"{PREFIX}/partners"), _expect(200)),
    (
        Op("post", f"{PREFIX}/partners", body={"legal_name": "Matrix GmbH", "country": "DE"}),
        _expect(403, program_admin=201, manager=201),
    ),
    (Op("get", f"{PREFIX}/applications"), STAFF_ONLY_READ),
    (Op("get", f"{PREFIX}/applications/{{application_id}}"), HIDDEN),
    (Op("post", f"{PREFIX}/applications/{{application_id}}/approve", body={}), HIDDEN),
    (
        Op("post", f"{PREFIX}/applications/{{application_id}}/reject", body={"reason": "No"}),
        HIDDEN,
    ),
    (Op("get", f"{PREFIX}/audit"), _expect(200, admin_a=403, sales_a=403)),
    (Op("get", f"{PREFIX}/users"), _expect(403, program_admin=200)),
    (Op("get", f"{PREFIX}/me"), _expect(200)),
    (Op("get", f"{PREFIX}/me/tokens"), _expect(200)),
    (Op("post", f"{PREFIX}/me/tokens", body={"name": "matrix"}), _expect(201)),
    (Op("delete", f"{PREFIX}/me/tokens/{{token_id}}"), _expect(200)),
    (Op("get", f"{PREFIX}/programs"), _expect(200)),
    (Op("post", f"{PREFIX}/programs", body="PROGRAM_SOURCE"), _expect(403, program_admin=200)),
    (Op("get", f"{PREFIX}/programs/{{key}}"), _expect(200)),
    (Op("get", f"{PREFIX}/programs/{{key}}/versions"), _expect(200)),
    (Op("get", f"{PREFIX}/programs/{{key}}/current"), _expect(200)),
    (Op("get", f"{PREFIX}/programs/{{key}}/versions/{{number}}"), _expect(200)),
    (Op("get", f"{PREFIX}/programs/{{key}}/versions/{{number}}/source"), _expect(200)),
]

VENDOR_STAFF = _expect(200, admin_a=403, sales_a=403)
PROGRAM_ADMIN_ONLY = _expect(403, program_admin=200)
ADMIN_OR_FINANCE = _expect(403, program_admin=200, finance=200)

# Tiers: nominations are reviewed by program admins and managers (a manager's list holds
# their partners only: see test_nomination_list_is_scoped), evaluations run by program admins.
GLOBAL += [
    (Op("get", f"{T}/nominations"), STAFF_ONLY_READ),
    (
        Op(
            "post",
            f"{T}/survey-responses",
            body={
                "rows": [
                    {
                        "external_id": "NPS-MATRIX-1",
                        "partner_id": "{partner_id}",
                        "score": 9,
                        "responded_on": "2025-03-15",
                    }
                ]
            },
        ),
        ADMIN_OR_FINANCE,
    ),
    (Op("post", f"{T}/evaluations", body={"dry_run": False}), PROGRAM_ADMIN_ONLY),  # writes
    (Op("get", f"{T}/evaluations"), VENDOR_STAFF),
]

# Training: the catalogue is read by every signed-in user and kept by program admins, who
# also import completions.
COMPLETION = {
    "partner_id": "{partner_id}",
    "email": "learner@matrix.example.com",
    "course_key": "matrix-basics",
    "completed_on": "2025-01-10",
}
GLOBAL += [
    (Op("get", f"{TR}/courses"), _expect(200)),
    (
        Op("post", f"{TR}/courses", body={"key": "matrix-new", "name": "Matrix course"}),
        _expect(403, program_admin=201),
    ),
    (Op("patch", f"{TR}/courses/{{course_id}}", body={"name": "Renamed"}), PROGRAM_ADMIN_ONLY),
    (Op("get", f"{TR}/certifications"), _expect(200)),
    (
        Op(
            "post",
            f"{TR}/certifications",
            body={"key": "matrix-new", "name": "Matrix", "required_courses": ["matrix-basics"]},
        ),
        _expect(403, program_admin=201),
    ),
    (
        Op("patch", f"{TR}/certifications/{{certification_id}}", body={"name": "Renamed"}),
        PROGRAM_ADMIN_ONLY,
    ),
    (Op("get", f"{TR}/competencies"), _expect(200)),
    (
        Op(
            "post",
            f"{TR}/competencies",
            body={"key": "matrix-new", "name": "Matrix", "certifications": ["matrix-cert"]},
        ),
        _expect(403, program_admin=201),
    ),
    (
        Op("patch", f"{TR}/competencies/{{competency_id}}", body={"name": "Renamed"}),
        PROGRAM_ADMIN_ONLY,
    ),
    (Op("post", f"{TR}/completions/import", body={"rows": [COMPLETION]}), PROGRAM_ADMIN_ONLY),
    (
        Op(
            "post",
            f"{TR}/completions/import-csv",
            upload="partner_id,email,course_key,completed_on\r\n"
            "{partner_id},learner@matrix.example.com,matrix-basics,2025-01-10\r\n",
        ),
        PROGRAM_ADMIN_ONLY,
    ),
]

# Sales: the catalogue is read by every signed-in user and kept by program admins and finance,
# who also import billing lines; lines are listed within the caller's partners (see
# test_billing_lines_are_scoped); customers are for vendor staff.
S = f"{PREFIX}/sales"
BILLING_ROW = {
    "external_id": "INV-MATRIX-1",
    "partner_id": "{partner_id}",
    "customer_id": "C-MATRIX-NEW",
    "customer_name": "Matrix Customer",
    "sku": "MATRIX-1",
    "quantity": "1",
    "net_amount": "100.00",
    "currency": "EUR",
    "invoice_date": "2025-03-15",
}
GLOBAL += [
    (Op("get", f"{S}/categories"), _expect(200)),
    (
        Op("post", f"{S}/categories", body={"key": "matrix-new", "name": "Matrix"}),
        _expect(403, program_admin=201, finance=201),
    ),
    (Op("get", f"{S}/products"), _expect(200)),
    (
        Op(
            "post",
            f"{S}/products",
            body={
                "sku": "MATRIX-NEW",
                "name": "Matrix",
                "category": "matrix-hardware",
                "list_price": "10.00",
                "currency": "EUR",
            },
        ),
        _expect(403, program_admin=201, finance=201),
    ),
    (Op("get", f"{S}/products/{{product_id}}"), _expect(200)),
    (Op("patch", f"{S}/products/{{product_id}}", body={"name": "Renamed"}), ADMIN_OR_FINANCE),
    (Op("post", f"{S}/billing-lines/import", body={"rows": [BILLING_ROW]}), ADMIN_OR_FINANCE),
    (
        Op(
            "post",
            f"{S}/billing-lines/import-csv",
            upload="external_id,partner_id,customer_id,customer_name,sku,quantity,net_amount,"
            "currency,invoice_date\r\n"
            "INV-MATRIX-2,{partner_id},C-MATRIX-NEW,Matrix Customer,MATRIX-1,1,100.00,EUR,"
            "2025-03-15\r\n",
        ),
        ADMIN_OR_FINANCE,
    ),
    (Op("get", f"{S}/billing-lines"), _expect(200)),
    (Op("get", f"{S}/customers"), VENDOR_STAFF),
]

# Deals: registering needs the partner's own people or its managing staff; the review queue
# is for program admins and partner managers; the jobs are program admins'.
DEAL_BODY = {
    "partner_id": "{partner_id}",
    "program": "ev-hardware",
    "customer_name": "Matrix Global Customer",
    "customer_country": "DE",
    "products": [{"sku": "MATRIX-1", "quantity": 2}],
    "estimated_value": "1000.00",
    "currency": "EUR",
    "expected_close_date": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
    "source": "partner_sourced",
}
GLOBAL += [
    (Op("get", f"{D}/registrations"), _expect(200)),
    (
        Op("post", f"{D}/registrations", body=DEAL_BODY),
        _expect(201, finance=403, viewer=403),
    ),
    (Op("get", f"{D}/registrations/review-queue"), STAFF_ONLY_READ),
    (Op("post", f"{D}/conflict-check", body={"customer_name": "Matrix"}), _expect(200)),
    (Op("get", f"{D}/extensions"), _expect(200)),
    (Op("post", f"{D}/jobs/expire", body={}), PROGRAM_ADMIN_ONLY),
    (Op("post", f"{D}/jobs/match-orders", body={}), PROGRAM_ADMIN_ONLY),
]

# Quotes: anyone who sees partner A prices for it; its people and managing staff create
# quotes and order NFR units (partner A is a Gold VAR: NFR-eligible); program admins and
# finance keep credit lines (partner A has one and a DUNS number).
QUOTE_BODY = {
    "partner_id": "{partner_id}",
    "program": "ev-hardware",
    "lines": [{"sku": "MATRIX-1", "quantity": 2}],
}
NFR_BODY = {
    "partner_id": "{partner_id}",
    "program": "ev-hardware",
    "sku": "MATRIX-NFR",
    "bundle": ["MATRIX-SUPPORT", "MATRIX-CLOUD"],
}
CREDIT_BODY = {"limit": "5000.00", "currency": "EUR"}
GLOBAL += [
    (Op("get", f"{Q}"), _expect(200)),
    (Op("post", f"{Q}/price", body=QUOTE_BODY, reads_only=True), _expect(200)),
    (Op("post", f"{Q}", body=QUOTE_BODY), _expect(201, finance=403, viewer=403)),
    (Op("get", f"{Q}/credit-lines"), _expect(200)),
    (
        Op("post", f"{Q}/partners/{{partner_id}}/credit-line", body=CREDIT_BODY),
        ADMIN_OR_FINANCE,
    ),
    (
        Op("delete", f"{Q}/partners/{{partner_id}}/credit-line"),
        _expect(403, program_admin=204, finance=204),
    ),
    (Op("post", f"{Q}/nfr", body=NFR_BODY), _expect(201, finance=403, viewer=403)),
    (Op("get", f"{Q}/nfr"), _expect(200)),
]

# MDF: requests by the partner's people and its managing staff; allocations and the expiry by
# program admins and finance; lists are scoped (see mdf/tests/test_api.py).
GLOBAL += [
    (Op("get", f"{M}/requests"), _expect(200)),
    (
        Op(
            "post",
            f"{M}/requests",
            body={
                "partner_id": "{partner_id}",
                "program": "ev-hardware",
                "title": "Matrix fair",
                "activity_type": "event",
                "starts_on": "2025-03-01",
                "ends_on": "2025-03-02",
                "budget": "100.00",
            },
        ),
        _expect(201, finance=403, viewer=403),
    ),
    (Op("get", f"{M}/claims"), _expect(200)),
    (
        Op(
            "post",
            f"{M}/allocations",
            body={
                "partner_id": "{partner_id}",
                "program": "ev-hardware",
                "quarter_start": "2025-05-01",
                "amount": "10.00",
                "reason": "Matrix",
            },
        ),
        _expect(403, program_admin=201, finance=201),
    ),
    (Op("post", f"{M}/jobs/expire", body={"as_of": "2025-05-01"}), ADMIN_OR_FINANCE),
]

# Charging: lists are scoped by the permission layer (see charging/tests/test_assets.py);
# assets are created by program admins and partner managers, tariffs and tariff groups also
# by partner admins whose contract allows it (partner A's does), drivers by partner admins
# whose contract allows creating users; the CSMS authorises sessions as a program admin.
STAFF_CREATE = _expect(403, program_admin=201, manager=201)
TARIFF_CREATE = _expect(403, program_admin=201, manager=201, admin_a=201)
MATRIX_TARIFF = {
    "id": "T-MATRIX-NEW",
    "currency": "EUR",
    "elements": [{"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]}],
}
GLOBAL += [
    (Op("get", f"{C}/locations"), _expect(200)),
    (
        Op(
            "post",
            f"{C}/locations",
            body={
                "ocpi_id": "LOC-MATRIX-NEW",
                "name": "Matrix site",
                "address": "Matrixweg 1",
                "city": "Berlin",
                "country": "DE",
            },
        ),
        STAFF_CREATE,
    ),
    (Op("get", f"{C}/charge-points"), _expect(200)),
    (
        Op(
            "post",
            f"{C}/charge-points",
            body={
                "location_id": "{charging_location_id}",
                "identity": "CP-MATRIX-NEW",
                "partner_id": "{partner_id}",
                "evses": [{"uid": "E-MATRIX-NEW", "current_type": "DC", "max_power_kw": "50"}],
            },
        ),
        STAFF_CREATE,
    ),
    (Op("get", f"{C}/tariffs"), _expect(200)),
    (
        Op("post", f"{C}/tariffs", body={"partner_id": "{partner_id}", "ocpi": MATRIX_TARIFF}),
        TARIFF_CREATE,
    ),
    (Op("get", f"{C}/tariff-groups"), _expect(200)),
    (
        Op("post", f"{C}/tariff-groups", body={"name": "Matrix", "partner_id": "{partner_id}"}),
        TARIFF_CREATE,
    ),
    (Op("get", f"{C}/drivers"), _expect(200)),
    (
        Op(
            "post",
            f"{C}/drivers",
            body={"partner_id": "{partner_id}", "external_id": "DRV-MATRIX-NEW"},
        ),
        TARIFF_CREATE,
    ),
    (
        Op(
            "post",
            f"{C}/authorize",
            body={"driver_external_id": "DRV-partner_a", "evse_uid": "E-partner_a"},
        ),
        PROGRAM_ADMIN_ONLY,
    ),
]

# Charging sessions: listed within the caller's scope (see charging/tests/test_sessions_api.py);
# imported (OCPI JSON, CSV upload) by program admins and finance.
MATRIX_CDR = {
    "id": "CDR-MATRIX-NEW",
    "start_date_time": "2025-03-10T08:00:00Z",
    "end_date_time": "2025-03-10T09:00:00Z",
    "cdr_location": {"evse_uid": "E-partner_a"},
    "currency": "EUR",
    "charging_periods": [],
    "total_cost": {"excl_vat": 3.0, "incl_vat": 3.57},
    "total_energy": 10,
    "total_time": 1,
    "last_updated": "2025-03-10T09:00:00Z",
}
GLOBAL += [
    (Op("get", CS), _expect(200)),
    (Op("post", f"{CS}/import", body=MATRIX_CDR), ADMIN_OR_FINANCE),
    (
        Op(
            "post",
            f"{CS}/import-csv",
            upload="cdr_id,evse_uid,start,end,energy_kwh,currency,total_excl_vat,"
            "total_incl_vat,payment_method\r\n"
            "CDR-MATRIX-CSV,E-partner_a,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,EUR,"
            "3.00,3.57,card\r\n",
        ),
        ADMIN_OR_FINANCE,
    ),
]

# Settlements: runs are started by finance and program admins and read by vendor staff;
# finalising and recording payments (on partner A's draft / final statement) likewise.
SETTLEMENT_DRAFT = (("statement_id", "settlement_draft_id"),)
SETTLEMENT_FINAL = (("statement_id", "settlement_final_id"),)
GLOBAL += [
    (Op("get", f"{SE}/statements"), _expect(200)),
    (Op("get", f"{SE}/runs"), VENDOR_STAFF),
    (
        Op("post", f"{SE}/runs", body={"month": "2025-11"}),
        _expect(403, program_admin=201, finance=201),
    ),
    (Op("get", f"{SE}/runs/{{run_id}}"), VENDOR_STAFF),
    (Op("post", f"{SES}/finalise", body={}, use=SETTLEMENT_DRAFT), ADMIN_OR_FINANCE),
    (
        Op(
            "post",
            f"{SES}/payments",
            body={
                "direction": "made",
                "paid_on": "2025-10-20",
                "amount": "1.00",
                "allow_excess": True,
            },
            use=SETTLEMENT_FINAL,
        ),
        _expect(403, program_admin=201, finance=201),
    ),
]

# Incentives: lists are scoped by the permission layer (see incentives/tests/test_api.py);
# accruals, customer payments, rebate closes, SPIFF campaigns, adjustments and payouts are
# finance's and program admins'; a partner's admins and the staff who change it (and finance)
# elect its referral benefit; its people and managing staff claim SPIFFs (spiff_campaign_id:
# an activity campaign of ev-hardware in 2025).
FINANCE_CREATE = _expect(403, program_admin=201, finance=201)
GLOBAL += [
    (Op("get", f"{IN}/ledger"), _expect(200)),
    (Op("get", f"{IN}/balances"), _expect(200)),
    (Op("post", f"{IN}/accrual-runs", body={}), FINANCE_CREATE),
    (Op("get", f"{IN}/accrual-runs"), VENDOR_STAFF),
    (
        Op(
            "post",
            f"{IN}/customer-payments",
            body={
                "rows": [
                    {
                        "external_id": "PAY-MATRIX-1",
                        "billing_line": "INV-partner_a",
                        "amount": "10.00",
                        "paid_on": "2025-04-01",
                    }
                ]
            },
        ),
        ADMIN_OR_FINANCE,
    ),
    (Op("get", f"{IN}/referral-elections"), _expect(200)),
    (
        Op(
            "post",
            f"{IN}/referral-elections",
            body={"partner_id": "{partner_id}", "program": "ev-hardware", "choice": "discount"},
        ),
        _expect(201, viewer=403, sales_a=403),
    ),
    (
        Op(
            "post",
            f"{IN}/rebates/close",
            body={
                "program": "ev-hardware",
                "rebate": "hardware-volume",
                "period_day": "2025-03-15",
            },
        ),
        FINANCE_CREATE,
    ),
    (Op("get", f"{IN}/rebates/closes"), VENDOR_STAFF),
    (Op("get", f"{IN}/spiffs"), _expect(200)),
    (
        Op(
            "post",
            f"{IN}/spiffs",
            body={
                "program": "ev-hardware",
                "name": "Matrix SPIFF",
                "basis": "activity",
                "starts_on": "2025-01-01",
                "ends_on": "2025-12-31",
                "bounty": "50.00",
                "currency": "EUR",
            },
        ),
        FINANCE_CREATE,
    ),
    (
        Op(
            "post",
            f"{IN}/spiffs/{{spiff_id}}/claims",
            body={"partner_id": "{partner_id}", "activity": "Matrix", "activity_on": "2025-06-01"},
            use=(("spiff_id", "spiff_campaign_id"),),
        ),
        _expect(201, finance=403, viewer=403),
    ),
    (Op("get", f"{IN}/spiff-claims"), _expect(200)),
    (
        Op(
            "post",
            f"{IN}/adjustments",
            body={
                "partner_id": "{partner_id}",
                "kind": "commission",
                "amount": "1.00",
                "currency": "EUR",
                "booked_on": "2025-03-15",
                "reason": "Matrix",
            },
        ),
        FINANCE_CREATE,
    ),
    (
        Op("post", f"{IN}/payout-runs", body={"reference": "MATRIX-1", "as_of": "2025-03-31"}),
        FINANCE_CREATE,
    ),
    (Op("get", f"{IN}/payout-runs"), VENDOR_STAFF),
]

# Webhooks: program admins only (an endpoint carries every partner's events out).
WH = f"{PREFIX}/webhooks"
GLOBAL += [
    (Op("get", f"{WH}/endpoints"), PROGRAM_ADMIN_ONLY),
    (
        Op("post", f"{WH}/endpoints", body={"url": "https://m.example.com/", "event_types": ["*"]}),
        _expect(403, program_admin=201),
    ),
    (Op("get", f"{WH}/endpoints/{{endpoint_id}}"), PROGRAM_ADMIN_ONLY),
    (Op("patch", f"{WH}/endpoints/{{endpoint_id}}", body={"is_active": False}), PROGRAM_ADMIN_ONLY),
    (Op("delete", f"{WH}/endpoints/{{endpoint_id}}"), _expect(403, program_admin=204)),
    (Op("post", f"{WH}/endpoints/{{endpoint_id}}/rotate-secret"), PROGRAM_ADMIN_ONLY),
    (Op("get", f"{WH}/endpoints/{{endpoint_id}}/deliveries"), PROGRAM_ADMIN_ONLY),
    (Op("post", f"{WH}/deliveries/{{delivery_id}}/retry"), PROGRAM_ADMIN_ONLY),
]

# Global writes whose effect the snapshot does not hold (API tokens, programs), or that may
# rightly find nothing to do (the deal jobs), or that only read (the conflict check).
UNSNAPSHOTTED = {
    ("POST", f"{PREFIX}/me/tokens"),
    ("DELETE", f"{PREFIX}/me/tokens/{{token_id}}"),
    ("POST", f"{PREFIX}/programs"),
    ("POST", f"{D}/jobs/expire"),
    ("POST", f"{D}/jobs/match-orders"),
    ("POST", f"{D}/conflict-check"),
    ("POST", f"{C}/authorize"),
}

# Operations anyone may call without logging in (they carry their own proof or none).
PUBLIC = {
    ("POST", f"{PREFIX}/invitations/accept"),  # the signed token is the credential
    ("POST", f"{PREFIX}/applications"),  # prospective partners apply
}


def schema_operations() -> list[tuple[str, str, bool]]:
    """(METHOD, path, needs authentication) for every operation the API serves."""
    from partnerhub.core.api import api

    paths = api.get_openapi_schema()["paths"]
    return [
        (method.upper(), path, bool(operation.get("security")))
        for path, item in paths.items()
        for method, operation in item.items()
    ]


SCHEMA_OPERATIONS = schema_operations()


# --- helpers -----------------------------------------------------------------------------------


SNAPSHOT_MODELS = [
    Partner,
    Contact,
    TrackMembership,
    PartnerUser,
    Invitation,
    StatusChange,
    PartnerApplication,
    User,
    PartnerTier,
    TierChange,
    TierOverride,
    Nomination,
    EvidenceItem,
    SurveyResponse,
    EvaluationRun,
    Course,
    Certification,
    Certification.required_courses.through,
    Competency,
    Competency.certifications.through,
    Person,
    CourseCompletion,
    PersonCertification,
    ProductCategory,
    Product,
    Customer,
    BillingLine,
    DealRegistration,
    DealProduct,
    DealStatusChange,
    DealConflict,
    DealExtension,
    DealAttachment,
    CreditLine,
    Quote,
    QuoteLine,
    NfrPurchase,
    Location,
    ElectricityPrice,
    ChargePoint,
    ChargePointHosting,
    Evse,
    Connector,
    Tariff,
    TariffGroup,
    TariffAssignment,
    CorporateBilling,
    Driver,
    StatusNotification,
    ChargingSession,
    Contract,
    SettlementRun,
    Statement,
    StatementLine,
    SessionSettlement,
    Payment,
    MdfAllocation,
    MdfRequest,
    MdfClaim,
    MdfProof,
    MdfExpiryRun,
    LedgerEntry,
    AccrualRun,
    CustomerPayment,
    ReferralElection,
    RebateClose,
    SpiffCampaign,
    SpiffCampaign.products.through,
    SpiffClaim,
    PayoutRun,
    WebhookEndpoint,
    WebhookDelivery,
]


def _snapshot_sql() -> list[tuple[str, str]]:
    """One ``SELECT *`` per snapshotted table, in primary-key order (plain SQL: building 60
    ORM querysets twice per test was a fifth of the suite's time)."""
    quote = connection.ops.quote_name
    return [
        (
            m._meta.db_table,
            f"SELECT * FROM {quote(m._meta.db_table)} ORDER BY {quote(m._meta.pk.column)}",
        )
        for m in SNAPSHOT_MODELS
    ] + [("LogEntry", f"SELECT COUNT(*) FROM {quote(LogEntry._meta.db_table)}")]


def snapshot() -> dict:
    """Everything a write could touch (API tokens excluded: using one records its last use)."""
    state = {}
    with connection.cursor() as cursor:
        for name, sql in _snapshot_sql():
            cursor.execute(sql)
            state[name] = cursor.fetchall()
    state["outbox"] = len(mail.outbox)
    return state


def _fill(value, ids: dict):
    """A body with every "{name}" value replaced by ``ids[name]``."""
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and (m := re.fullmatch(r"{(\w+)}", value)):
        return ids[m.group(1)]
    return value


def call(client, op: Op, ids: dict):
    body = _fill(op.body, ids)
    if body == "PROGRAM_SOURCE":
        body = {"source": EXAMPLE_PROGRAM.read_text()}
    url = op.url(ids) if ids else op.path
    if op.upload:
        csv = op.upload.format(**{**ids, **{k: ids[v] for k, v in op.use if v in ids}}).encode()
        response = client.client.post(
            url,
            {"file": SimpleUploadedFile("upload.csv", csv, "text/csv"), **dict(op.form)},
            **client.headers,
        )
        return SimpleNamespace(status_code=response.status_code, body=response.json())
    if op.method in ("get", "delete"):
        return getattr(client, op.method)(url)
    return getattr(client, op.method)(url, body)


def _build_objects(world, ev_program) -> dict:
    """Per partner: one of each sub-object, so every path can be filled in; and a catalogue."""
    from django.utils import timezone

    from partnerhub.programs.services import program_load

    gated = program_load(source=GATED_PROGRAM.read_text()).version.program
    course = Course.objects.create(key="matrix-basics", name="Matrix basics")
    certification = Certification.objects.create(key="matrix-cert", name="Matrix certified")
    certification.required_courses.add(course)
    competency = Competency.objects.create(key="matrix-comp", name="Matrix competency")
    competency.certifications.add(certification)
    category = ProductCategory.objects.create(key="matrix-hardware", name="Matrix hardware")
    product = Product.objects.create(
        sku="MATRIX-1",
        name="Matrix box",
        category=category,
        list_price_minor=100_00,
        currency="EUR",
    )
    customer = Customer.objects.create(
        external_id="C-MATRIX", name="Matrix Customer", activated_on=dt.date(2024, 1, 1)
    )
    objects = {
        "catalogue": {
            "course_id": course.pk,
            "certification_id": certification.pk,
            "competency_id": competency.pk,
            "product_id": product.pk,
            "charging_location_id": _empty_location().pk,
        }
    }
    for name in ("partner_a", "partner_b", "operator", "child_1", "child_2"):
        partner = getattr(world, name)
        tech = User.objects.create_user(f"tech@{name}.test", "correct horse battery")
        PartnerUser.objects.create(user=tech, partner=partner, role="technical")
        invitation = Invitation.objects.create(
            partner=partner,
            email=f"pending@{name}.test",
            role="sales",
            expires_at=timezone.now() + dt.timedelta(days=7),
        )
        TrackMembership.objects.create(
            partner=partner, program=gated, track_key="solution", joined_on="2025-03-01"
        )
        override = TierOverride.objects.create(
            partner=partner,
            program=ev_program,
            track_key="var",
            tier_key="gold",
            reason="Matrix",
            author=world.program_admin,
            starts_on=dt.date(2025, 3, 1),
            expires_on=dt.date(2099, 12, 31),
        )
        nomination = Nomination.objects.create(
            partner=partner,
            program=gated,
            track_key="solution",
            tier_key="strategic",
            reason="Matrix",
            nominated_by=world.manager,
        )
        EvidenceItem.objects.create(
            partner=partner, item="demo-station", recorded_on=dt.date(2025, 3, 1)
        )
        person = Person.objects.create(partner=partner, email=f"person@{name}.test")
        held = PersonCertification.objects.create(
            person=person,
            certification=certification,
            partner=partner,
            earned_on=dt.date(2025, 3, 1),
        )
        BillingLine.objects.create(
            external_id=f"INV-{name}",
            partner=partner,
            customer=customer,
            product=product,
            quantity=1,
            net_amount_minor=100_00,
            currency="EUR",
            invoice_date=dt.date(2025, 3, 15),
        )
        deals = _build_deals(world, partner, product, name)
        quote_id = _build_quote(world, partner)
        objects[name] = {
            **deals,
            **_build_mdf(partner),
            **(charging := _build_charging(partner, name)),
            "session_id": _build_session(charging["evse_id"], partner, name),
            "partner_id": partner.pk,
            "contact_id": partner.contacts.get().pk,
            "membership_id": partner.track_memberships.get(program=ev_program).pk,
            "user_id": tech.pk,
            "invitation_id": invitation.pk,
            "override_id": override.pk,
            "nomination_id": nomination.pk,
            "person_certification_id": held.pk,
            "quote_id": quote_id,
        }
    _build_settlements(world, objects)
    _build_incentives(ev_program, objects)
    _build_quote_catalogue(world, ev_program)
    _build_webhooks(world, objects)
    return objects


def _build_webhooks(world, objects) -> None:
    """One endpoint with a delivery that failed (so a retry changes it)."""
    from partnerhub.webhooks.services import endpoint_create

    endpoint = endpoint_create(
        actor=world.program_admin, url="https://hooks.example.com/in", event_types=["*"]
    )
    event = Event.objects.create(name="matrix.test", payload={})
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, status="failed", attempts=8, last_error="HTTP 500"
    )
    objects["catalogue"]["endpoint_id"] = endpoint.pk
    objects["catalogue"]["delivery_id"] = delivery.pk


def _build_quote(world, partner) -> int:
    """A draft quote of the partner for one Matrix box, through another partner."""
    from partnerhub.quotes import services as quotes

    distributor = world.partner_b if partner != world.partner_b else world.partner_a
    return quotes.quote_create(
        partner=partner,
        data={
            "program": "ev-hardware",
            "purchase_path": "distributor",
            "distributor_id": distributor.pk,
            "lines": [{"sku": "MATRIX-1", "quantity": 1}],
        },
    ).pk


def _build_quote_catalogue(world, ev_program) -> None:
    """NFR products (the ev-hardware NFR bundle: services and cloud), partner A a Gold VAR
    (NFR-eligible) with a DUNS number and a credit line."""
    from partnerhub.tiers.models import PartnerTier

    for key, sku in (
        ("nfr", "MATRIX-NFR"),
        ("services", "MATRIX-SUPPORT"),
        ("cloud", "MATRIX-CLOUD"),
    ):
        category, _ = ProductCategory.objects.get_or_create(key=key, defaults={"name": key})
        Product.objects.create(
            sku=sku, name=sku, category=category, list_price_minor=100_00, currency="EUR"
        )
    PartnerTier.objects.create(
        partner=world.partner_a,
        program=ev_program,
        track_key="var",
        tier_key="gold",
        rank=2,
        since=dt.date(2025, 2, 1),
        held_until=dt.date(2099, 1, 31),
        source="override",
        last_evaluated_on=dt.date(2025, 2, 1),
    )
    Partner.objects.filter(pk=world.partner_a.pk).update(duns="123456789")
    CreditLine.objects.create(
        partner=world.partner_a,
        limit_minor=10_000_00,
        currency="EUR",
        approved_on=dt.date(2025, 3, 1),
    )


def _build_incentives(ev_program, objects) -> None:
    """An activity SPIFF campaign of 2025 and, per partner, a submitted claim in it."""
    from decimal import Decimal

    from partnerhub.incentives import services as incentives

    campaign = incentives.spiff_campaign_create(
        program=ev_program,
        name="Matrix campaign",
        basis="activity",
        starts_on=dt.date(2025, 1, 1),
        ends_on=dt.date(2025, 12, 31),
        bounty=Decimal(25),
        currency="EUR",
    )
    objects["catalogue"]["spiff_campaign_id"] = campaign.pk
    for name in ("partner_a", "partner_b", "operator", "child_1", "child_2"):
        partner = Partner.objects.get(pk=objects[name]["partner_id"])
        claim = incentives.spiff_claim_submit(
            campaign=campaign,
            partner=partner,
            activity="Matrix demo",
            activity_on=dt.date(2025, 3, 1),
        )
        objects[name]["spiff_claim_id"] = claim.pk


def _build_settlements(world, objects) -> None:
    """September 2025 settled and final for every partner (their contracts are in force),
    October 2025 a draft; the run ids and partner A's statements for the global operations."""
    from partnerhub.settlements.services import settlement_run

    settlement_run(month="2025-09", finalise=True)
    run = settlement_run(month="2025-10")
    for name in ("partner_a", "partner_b", "operator", "child_1", "child_2"):
        ids = objects[name]
        statements = dict(
            Statement.objects.filter(partner_id=ids["partner_id"]).values_list("month", "pk")
        )
        ids["statement_id"] = statements[dt.date(2025, 9, 1)]
        ids["settlement_draft_id"] = statements[dt.date(2025, 10, 1)]
        ids["settlement_contract_id"] = Contract.objects.get(partner_id=ids["partner_id"]).pk
    objects["catalogue"]["run_id"] = run.pk
    objects["catalogue"]["settlement_draft_id"] = objects["partner_a"]["settlement_draft_id"]
    objects["catalogue"]["settlement_final_id"] = objects["partner_a"]["statement_id"]


def _build_deals(world, partner, product, name) -> dict:
    """A submitted, a draft, an approved registration and one with a pending extension (and an
    attachment on the submitted one), each for a customer of its own."""
    from django.core.files.base import ContentFile

    from partnerhub.deals import services as deals

    def reg(kind, submit=True):
        return deals.registration_create(
            partner=partner,
            data={
                "program": "ev-hardware",
                "customer_name": f"{kind} {name.replace('_', ' ')} Customer",
                "customer_country": "DE",
                "products": [{"sku": product.sku, "quantity": 1}],
                "estimated_value": "500",
                "currency": "EUR",
                "expected_close_date": dt.date.today() + dt.timedelta(days=30),
                "source": "partner_sourced",
            },
            created_by=None,
            submit=submit,
        )

    submitted = reg("Submitted")
    draft = reg("Draft", submit=False)
    approved = deals.registration_approve(registration=reg("Approved"), approved_by=None)
    extended = deals.registration_approve(registration=reg("Extended"), approved_by=None)
    extension = deals.extension_request(
        registration=extended, requested_by=None, days=10, reason="Matrix"
    )
    attachment = DealAttachment(
        registration=submitted, name="plan.txt", content_type="text/plain", size=4
    )
    attachment.file.save("plan.txt", ContentFile(b"plan"), save=False)
    attachment.save()
    return {
        "registration_id": submitted.pk,
        "draft_id": draft.pk,
        "approved_id": approved.pk,
        "extension_id": extension.pk,
        "attachment_id": attachment.pk,
    }


def _build_mdf(partner) -> dict:
    """An allocation of 100,000.00 USD; a submitted request, an approved one and a claimed one
    (its claim with one proof file), each for an activity in March 2025."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from partnerhub.mdf import services as mdf

    mdf.allocation_create(
        partner=partner,
        program="ev-hardware",
        quarter_start=dt.date(2025, 2, 1),
        amount="100000.00",
        reason="Matrix",
    )

    def request(title):
        return mdf.request_create(
            partner=partner,
            data={
                "program": "ev-hardware",
                "title": title,
                "activity_type": "event",
                "starts_on": "2025-03-01",
                "ends_on": "2025-03-05",
                "budget": "1000.00",
            },
        )

    submitted = request("Matrix submitted")
    approved = mdf.request_approve(request=request("Matrix approved"))
    claimed = mdf.request_approve(request=request("Matrix claimed"))
    claim = mdf.claim_submit(
        request=claimed,
        actual_cost="800.00",
        files=[SimpleUploadedFile("proof.pdf", b"%PDF proof", "application/pdf")],
    )
    return {
        "request_id": submitted.pk,
        "mdf_approved_id": approved.pk,
        "claim_id": claim.pk,
        "proof_id": claim.proofs.get().pk,
    }


def _empty_location():
    """A site without charge points yet (where new charge points go)."""
    from partnerhub.charging import services as charging

    return charging.location_create(
        data={
            "ocpi_id": "LOC-MATRIX",
            "name": "Matrix site",
            "address": "Matrixweg 1",
            "city": "Berlin",
            "country": "DE",
        }
    )


def _build_charging(partner, name) -> dict:
    """A location with a charge point (one AC EVSE) hosted by the partner since 2025, a tariff
    group, a tariff assigned to the charge point and a spare one, corporate billing with a
    corporate driver, and a contract in force allowing tariffs and users."""
    from decimal import Decimal

    from partnerhub.charging import services as charging
    from partnerhub.settlements.models import Contract

    Contract.objects.create(
        name=f"Matrix contract {name}",
        partner=partner,
        start_month=dt.date(2025, 1, 1),
        end_month=dt.date(2099, 12, 1),
        ac_share_percent=Decimal(50),
        dc_share_percent=Decimal(50),
        can_manage_tariffs=True,
        can_create_users=True,
        fault_notifications=True,
    )
    location = charging.location_create(
        data={
            "ocpi_id": f"LOC-{name}",
            "name": f"{name} site",
            "address": "Matrixweg 2",
            "city": "Berlin",
            "country": "DE",
            "electricity_prices": [
                {"valid_from": "2025-01-01", "price_per_kwh": "0.2", "currency": "EUR"}
            ],
        }
    )
    cp = charging.charge_point_create(
        location=location,
        data={
            "identity": f"CP-{name}",
            "evses": [
                {
                    "uid": f"E-{name}",
                    "current_type": "AC",
                    "max_power_kw": "22",
                    "connectors": [{"connector_id": "1", "standard": "IEC_62196_T2"}],
                }
            ],
        },
        partner=partner,
        hosted_from=dt.date(2025, 1, 1),
    )

    def tariff(suffix):
        return charging.tariff_create(
            partner=partner,
            data={
                "id": f"T-{name}-{suffix}",
                "currency": "EUR",
                "elements": [
                    {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]}
                ],
            },
        )

    group = charging.tariff_group_create(name=f"{name} group", partner=partner)
    assigned, spare = tariff("main"), tariff("spare")
    assignment = charging.assignment_create(tariff=assigned, target=cp)
    charging.corporate_billing_set(
        partner=partner, enabled=True, currency="EUR", monthly_limit=Decimal(150)
    )
    driver = charging.driver_create(
        partner=partner, data={"external_id": f"DRV-{name}", "corporate_billing": True}
    )
    return {
        "location_id": location.pk,
        "charge_point_id": cp.pk,
        "evse_id": cp.evses.get().pk,
        "tariff_id": assigned.pk,
        "spare_tariff_id": spare.pk,
        "assignment_id": assignment.pk,
        "tariff_group_id": group.pk,
        "driver_id": driver.pk,
    }


def _build_session(evse_id: int, partner, name) -> int:
    """One session on the partner's charge point, in March 2025 (hosted since January)."""
    evse = Evse.objects.select_related("charge_point").get(pk=evse_id)
    return ChargingSession.objects.create(
        cdr_id=f"CDR-MATRIX-{name}",
        evse=evse,
        charge_point=evse.charge_point,
        location_id=evse.charge_point.location_id,
        partner=partner,
        current_type=evse.current_type,
        start=dt.datetime(2025, 3, 3, 8, tzinfo=dt.UTC),
        end=dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC),
        energy_wh=10_000,
        currency="EUR",
        energy_cost_minor=300,
        total_excl_vat_minor=300,
        total_incl_vat_minor=357,
        payment_method="card",
    ).pk


@pytest.fixture(scope="module")
def _shared(django_db_setup, django_db_blocker):
    """The conftest ``world`` and ``_build_objects``, built once for the module in a transaction
    rolled back at its end (the tests' own transactions are savepoints within it)."""
    import conftest  # the project's root conftest.py: its fixture functions build the world

    with django_db_blocker.unblock(), transaction.atomic():
        ev_program = conftest.ev_program.__wrapped__(None)
        make_user = conftest.make_user.__wrapped__(None)
        world = conftest.world.__wrapped__(None, ev_program, make_user)
        objects = _build_objects(world, ev_program)
        members = {f.name: (type(v), v.pk) for f in fields(world) for v in [getattr(world, f.name)]}
        yield SimpleNamespace(
            world_type=type(world), members=members, program=ev_program.pk, objects=objects
        )
        transaction.set_rollback(True)


@pytest.fixture
def ev_program(_shared, db):
    return Program.objects.get(pk=_shared.program)


@pytest.fixture
def world(_shared, db):
    """Fresh instances of the shared world's users and partners (tests may change them)."""
    fetched = {}
    for model in {model for model, _ in _shared.members.values()}:
        pks = [pk for m, pk in _shared.members.values() if m is model]
        fetched[model] = model.objects.in_bulk(pks)
    return _shared.world_type(
        **{name: fetched[model][pk] for name, (model, pk) in _shared.members.items()}
    )


@pytest.fixture
def scope(_shared, db) -> dict:
    return {name: dict(ids) for name, ids in _shared.objects.items()}


@pytest.fixture
def application(ev_program):
    return PartnerApplication.objects.create(
        legal_name="Applicant GmbH",
        country="DE",
        contact_name="Ann Applicant",
        contact_email="ann@applicant.test",
        program=ev_program,
        track_key="var",
    )


# --- completeness ------------------------------------------------------------------------------


def test_every_api_operation_is_in_the_matrix():
    from partnerhub.core.api import api

    schema = api.get_openapi_schema()
    operations = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    scoped = [op.key for op in PARTNER_SCOPED]
    global_ = [op.key for op, _ in GLOBAL]
    covered = set(scoped) | set(global_)
    assert len(covered) == len(scoped) + len(global_), "an operation is in the matrix twice"
    assert not covered & PUBLIC
    missing = operations - covered - PUBLIC
    assert missing == set(), "add new endpoints to the tenancy matrix"
    stale = (covered | PUBLIC) - operations
    assert stale == set(), "the matrix names endpoints that no longer exist"
    # The public ones really are public, every other one requires authentication.
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert bool(operation.get("security")) == ((method.upper(), path) not in PUBLIC)


def test_public_operations_answer_without_credentials(api_as, world):
    anon = api_as(None)
    r = anon.post("/invitations/accept", {"token": "nope", "password": "x" * 12})
    assert r.status_code == 400, r.body
    assert r.body["detail"][0]["loc"] == ["body", "token"]
    r = anon.post("/applications", {})
    assert r.status_code == 422, r.body


# --- anonymous ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [(m, p) for m, p, secured in SCHEMA_OPERATIONS if secured],
    ids=[f"{m} {p.removeprefix(PREFIX)}" for m, p, secured in SCHEMA_OPERATIONS if secured],
)
def test_anonymous_gets_401_and_nothing_changes(method, path, api_as, scope, application):
    """Every operation but the public ones, straight from the schema (new ones included)."""
    ids = {**scope["partner_a"], "application_id": application.pk, "key": "ev-hardware"}
    url = re.sub(r"{(\w+)}", lambda m: str(ids.get(m.group(1), 1)), path)
    client = api_as(None)
    before = snapshot()
    r = call(client, Op(method.lower(), url, body={}), {})
    assert r.status_code == 401, r.body
    assert r.body["detail"][0]["type"] == "unauthenticated"
    assert snapshot() == before


PARTNER_READS = [
    (m, p)
    for m, p, secured in SCHEMA_OPERATIONS
    if secured and m == "GET" and re.findall(r"{(\w+)}", p) == ["partner_id"]
]


@pytest.mark.parametrize("actor,target", [("admin_a", "partner_b"), ("manager", "partner_b")])
@pytest.mark.parametrize(
    "method,path", PARTNER_READS, ids=[p.removeprefix(PREFIX) for _, p in PARTNER_READS]
)
def test_every_partner_read_in_the_schema_hides_other_tenants(
    method, path, actor, target, world, api_as
):
    """Any GET …/{partner_id}… in the schema, including ones added later: 404 for others."""
    partner = getattr(world, target)
    url = path.replace("{partner_id}", str(partner.pk))
    assert api_as(getattr(world, actor)).get(url).status_code == 404
    own = {"admin_a": world.partner_a, "manager": world.partner_a}[actor]
    r = api_as(getattr(world, actor)).get(path.replace("{partner_id}", str(own.pk)))
    assert r.status_code in (200, 403), (url, r.status_code, r.body)


# --- another tenant ----------------------------------------------------------------------------

FOREIGN = [
    ("admin_a", "partner_b"),
    ("sales_a", "partner_b"),
    ("admin_b", "partner_a"),
    ("admin_a", "child_1"),
    ("operator_admin", "partner_a"),
    ("child_1_admin", "operator"),  # a child cannot see its parent
    ("child_1_admin", "child_2"),  # nor its sibling
    ("manager", "partner_b"),  # a manager sees only assigned partners
    ("manager", "child_1"),  # the child of an assigned operator is not assigned
    ("other_manager", "partner_a"),
]


@pytest.mark.parametrize("actor,target", FOREIGN, ids=[f"{a}->{t}" for a, t in FOREIGN])
@pytest.mark.parametrize("op", PARTNER_SCOPED, ids=str)
def test_other_tenants_objects_are_404_and_untouched(op, actor, target, world, scope, api_as):
    client = api_as(getattr(world, actor))
    before = snapshot()
    r = call(client, op, scope[target])
    assert r.status_code == 404, (r.status_code, r.body)
    assert r.body == {"detail": [{"loc": [], "msg": "Not found.", "type": "not_found"}]} or (
        r.body["detail"][0]["type"] == "not_found"
    )
    assert snapshot() == before


# Callers who may act on partner A must still not reach B's objects through A's URL.
SUB_OBJECT_ACTORS = ["program_admin", "manager", "admin_a"]


@pytest.mark.parametrize("actor", SUB_OBJECT_ACTORS)
@pytest.mark.parametrize("op", WITH_SUB_OBJECT, ids=str)
def test_foreign_sub_object_under_own_partner_is_404(op, actor, world, scope, api_as):
    ids = {**scope["partner_b"], "partner_id": world.partner_a.pk}
    client = api_as(getattr(world, actor))
    before = snapshot()
    r = call(client, op, ids)
    assert r.status_code == 404, (r.status_code, r.body)
    assert snapshot() == before


@pytest.mark.parametrize("actor", SUB_OBJECT_ACTORS)
def test_foreign_attachment_under_own_registration_is_404(actor, world, scope, api_as):
    a, b = scope["partner_a"], scope["partner_b"]
    url = f"{D}/registrations/{a['registration_id']}/attachments/{b['attachment_id']}"
    assert api_as(getattr(world, actor)).get(url).status_code == 404


def test_not_found_is_indistinguishable_from_forbidden(world, scope, api_as):
    """A foreign partner's (or foreign object's) id and an id that never existed answer
    exactly alike."""
    client = api_as(world.admin_a)
    missing = 987_654_321
    for op in PARTNER_SCOPED:
        first = re.findall(r"{(\w+)}", op.path)[0]  # the partner, or the object addressed
        first = dict(op.use).get(first, first)
        foreign = call(client, op, scope["partner_b"])
        nowhere = call(client, op, {**scope["partner_b"], first: missing})
        assert (foreign.status_code, foreign.body) == (nowhere.status_code, nowhere.body), op


# --- callers in scope --------------------------------------------------------------------------

IN_SCOPE = [
    (ADMIN, "program_admin", "partner_b"),
    (MANAGER, "manager", "partner_a"),
    (MANAGER, "manager", "operator"),
    (READER, "finance", "partner_b"),
    (READER, "viewer", "partner_a"),
    (P_ADMIN, "admin_a", "partner_a"),
    (P_ADMIN, "operator_admin", "operator"),
    (P_MEMBER, "sales_a", "partner_a"),
    (OPERATOR, "operator_admin", "child_1"),
    (OPERATOR, "operator_admin", "child_2"),
]


@pytest.mark.parametrize(
    "category,actor,target", IN_SCOPE, ids=[f"{a}->{t}" for _, a, t in IN_SCOPE]
)
@pytest.mark.parametrize("op", PARTNER_SCOPED, ids=str)
def test_callers_in_scope(op, category, actor, target, world, scope, api_as):
    """Allowed callers succeed (and a write really writes); the others get 403, no write."""
    client = api_as(getattr(world, actor))
    before = snapshot()
    r = call(client, op, scope[target])
    if category in op.allowed:
        assert r.status_code == op.ok, (r.status_code, r.body)
        if op.is_write:
            assert snapshot() != before
    else:
        assert r.status_code == 403, (r.status_code, r.body)
        assert r.body["detail"][0]["type"] == "permission_denied"
        assert snapshot() == before


@pytest.mark.parametrize("role", G_ROLES)
@pytest.mark.parametrize("op,expected", GLOBAL, ids=[str(op) for op, _ in GLOBAL])
def test_global_operations_by_role(op, expected, role, world, scope, application, api_as):
    from partnerhub.accounts.services import api_token_create

    user = None if role == "anonymous" else getattr(world, role)
    client = api_as(user)
    token_id = api_token_create(user=user, name="to revoke")[0].pk if user else 1
    ids = {"application_id": application.pk, "token_id": token_id}
    ids |= {"key": "ev-hardware", "number": 1, "partner_id": world.partner_a.pk}
    ids |= scope["catalogue"]
    before = snapshot()
    r = call(client, op, ids)
    assert r.status_code == expected[role], (r.status_code, r.body)
    if r.status_code >= 400 and op.is_write:
        assert snapshot() == before
    elif op.is_write and op.key not in UNSNAPSHOTTED:
        assert snapshot() != before, "a successful write changed nothing"


# --- lists -------------------------------------------------------------------------------------


def _names(response) -> list[str]:
    assert response.status_code == 200, response.body
    return sorted(p["display_name"] for p in response.body["items"])


ALL = ["Alpha Charging", "Beta Energy", "Child One", "Child Two", "Omega Operator"]
LISTS = [
    ("program_admin", ALL),
    ("finance", ALL),
    ("viewer", ALL),
    ("manager", ["Alpha Charging", "Omega Operator"]),
    ("other_manager", ["Beta Energy"]),
    ("admin_a", ["Alpha Charging"]),
    ("sales_a", ["Alpha Charging"]),
    ("admin_b", ["Beta Energy"]),
    ("operator_admin", ["Child One", "Child Two", "Omega Operator"]),
    ("child_1_admin", ["Child One"]),
]


@pytest.mark.parametrize("actor,expected", LISTS, ids=[a for a, _ in LISTS])
def test_partner_list_is_scoped(actor, expected, world, api_as):
    client = api_as(getattr(world, actor))
    r = client.get("/partners")
    assert _names(r) == expected
    assert r.body["count"] == len(expected)
    # Filters cannot widen the scope.
    assert _names(client.get("/partners", q="a")) == [n for n in expected if "a" in n.lower()]
    r = client.get("/partners", parent_id=world.operator.pk)
    assert set(_names(r)) <= set(expected)
    r = client.get("/partners", partner_manager_id=world.other_manager.pk)
    assert set(_names(r)) <= set(expected)


def _partner_names(items) -> list[str]:
    names = dict(Partner.objects.values_list("pk", "display_name"))
    return sorted(names[item["partner_id"]] for item in items)


@pytest.mark.parametrize("actor,expected", LISTS, ids=[a for a, _ in LISTS])
def test_billing_lines_are_scoped(actor, expected, world, api_as):
    """Each partner has one line: the caller sees those of the partners it sees."""
    client = api_as(getattr(world, actor))
    r = client.get("/sales/billing-lines")
    assert r.status_code == 200, r.body
    assert _partner_names(r.body["items"]) == expected
    # Filtering by a partner out of scope finds nothing.
    for partner in Partner.objects.exclude(display_name__in=expected):
        r = client.get("/sales/billing-lines", partner_id=partner.pk)
        assert (r.status_code, r.body["items"]) == (200, []), partner


NOMINATION_LISTS = [(a, e) for a, e in LISTS if a in ("program_admin", "manager", "other_manager")]


@pytest.mark.parametrize("actor,expected", NOMINATION_LISTS, ids=[a for a, _ in NOMINATION_LISTS])
def test_nomination_list_is_scoped(actor, expected, world, api_as):
    """Each partner has one pending nomination: a manager reviews their partners' only."""
    r = api_as(getattr(world, actor)).get("/tiers/nominations", status="pending")
    assert r.status_code == 200, r.body
    assert _partner_names(r.body["items"]) == expected


def test_nominator_cannot_approve_their_own_nomination(world, scope, api_as):
    """Approval needs a second program admin (rejecting one's own nomination is allowed)."""
    client, manager = api_as(world.program_admin), api_as(world.manager)
    r = client.post(
        f"/tiers/partners/{world.partner_a.pk}/nominations",
        {"program": "brightlane", "track": "solution", "tier": "certified", "reason": "Mine"},
    )
    assert r.status_code == 201, r.body
    before = snapshot()
    r = client.post(f"/tiers/nominations/{r.body['id']}/approve", {})
    assert r.status_code == 409, r.body
    assert snapshot() == before
    # The matrix's nominations were made by the manager, who may not decide them.
    r = manager.post(f"/tiers/nominations/{scope['partner_a']['nomination_id']}/approve", {})
    assert r.status_code == 403, r.body
    assert snapshot() == before


def test_sub_operator_reads_its_children_and_their_objects(world, api_as):
    client = api_as(world.operator_admin)
    for child in (world.child_1, world.child_2):
        r = client.get(f"/partners/{child.pk}")
        assert r.status_code == 200 and r.body["parent_id"] == world.operator.pk
        r = client.get(f"/partners/{child.pk}/contacts")
        assert [c["partner_id"] for c in r.body] == [child.pk]
    r = client.get("/partners", parent_id=world.operator.pk)
    assert _names(r) == ["Child One", "Child Two"]


def test_grandchildren_belong_to_the_sub_tree(world, api_as):
    grandchild = Partner.objects.create(
        legal_name="Grandchild GmbH", display_name="Grandchild", country="DE", parent=world.child_1
    )
    assert api_as(world.operator_admin).get(f"/partners/{grandchild.pk}").status_code == 200
    assert api_as(world.child_1_admin).get(f"/partners/{grandchild.pk}").status_code == 200
    assert api_as(world.admin_a).get(f"/partners/{grandchild.pk}").status_code == 404


def test_child_user_cannot_reach_parent_or_sibling(world, api_as):
    client = api_as(world.child_1_admin)
    assert client.get(f"/partners/{world.child_1.pk}").status_code == 200
    assert client.get(f"/partners/{world.operator.pk}").status_code == 404
    assert client.get(f"/partners/{world.child_2.pk}").status_code == 404
    assert _names(client.get("/partners", parent_id=world.operator.pk)) == ["Child One"]


def test_reassigning_a_partner_moves_the_managers_scope(world, api_as):
    admin = api_as(world.program_admin)
    r = admin.patch(f"/partners/{world.partner_b.pk}", {"partner_manager_id": world.manager.pk})
    assert r.status_code == 200, r.body
    assert api_as(world.manager).get(f"/partners/{world.partner_b.pk}").status_code == 200
    assert api_as(world.other_manager).get(f"/partners/{world.partner_b.pk}").status_code == 404


def test_deactivated_user_loses_access(world, api_as):
    client = api_as(world.admin_a)
    world.admin_a.is_active = False
    world.admin_a.save()
    assert client.get(f"/partners/{world.partner_a.pk}").status_code == 401


def test_applications_and_audit_hidden_from_partner_users(world, application, api_as):
    for user in (world.admin_a, world.sales_a, world.operator_admin):
        client = api_as(user)
        assert client.get("/applications").status_code == 403
        assert client.get(f"/applications/{application.pk}").status_code == 404
        assert client.get("/audit").status_code == 403
        assert client.get("/users").status_code == 403


def test_manager_reads_the_audit_trail_of_assigned_partners_only(world, api_as):
    admin = api_as(world.program_admin)
    for partner in (world.partner_a, world.partner_b):
        r = admin.patch(f"/partners/{partner.pk}", {"city": "Berlin"})
        assert r.status_code == 200, r.body
    client = api_as(world.manager)

    def entries(partner):
        r = client.get("/audit", model="partners.partner", object_id=str(partner.pk))
        assert r.status_code == 200, r.body
        return r.body["items"]

    assert entries(world.partner_a)
    assert entries(world.partner_b) == []
    seen = {(e["model"], e["object_id"]) for e in client.get("/audit", limit=500).body["items"]}
    assert ("partners.partner", str(world.partner_b.pk)) not in seen
    b_contact = world.partner_b.contacts.get()
    assert ("partners.contact", str(b_contact.pk)) not in seen
    # Staff who read every partner read its whole trail.
    assert (
        api_as(world.viewer)
        .get("/audit", model="partners.partner", object_id=str(world.partner_b.pk))
        .body["items"]
    )
