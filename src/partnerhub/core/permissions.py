"""The one permission layer: who may see and do what. API, admin and views all ask here.

Two kinds of answers:
- object permissions (``user.has_perm("partners.change_partner", partner)``), declared with
  the ``rules`` package below, and
- visibility scopes (``visible_partners(user)``), the querysets a user may list.
Both derive from the same facts: the user's staff role, the partners a partner manager is
assigned, and the partner organisation (plus its sub-tree) a partner user belongs to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import rules
from django.db.models import QuerySet

from partnerhub.accounts.models import PartnerRole, StaffRole

if TYPE_CHECKING:
    from partnerhub.partners.models import Partner

# Roles that see every partner (read), and roles that may also change programs and partners.
ALL_PARTNER_READERS = {StaffRole.PROGRAM_ADMIN, StaffRole.FINANCE, StaffRole.VIEWER}


def _role(user) -> str:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ""
    if user.is_superuser:
        return StaffRole.PROGRAM_ADMIN
    return user.staff_role or ""


def membership(user):
    """The user's PartnerUser row, or None for staff and anonymous users (cached per user)."""
    if not getattr(user, "is_authenticated", False) or _role(user):
        return None
    if not hasattr(user, "_partner_membership_cache"):
        from partnerhub.partners.models import PartnerUser

        user._partner_membership_cache = (
            PartnerUser.objects.select_related("partner").filter(user=user).first()
        )
    return user._partner_membership_cache


def partner_subtree_ids(root_id: int) -> set[int]:
    """The partner and every partner below it (sub-operators manage their children)."""
    from partnerhub.partners.models import Partner

    ids = {root_id}
    frontier = {root_id}
    while frontier:
        frontier = (
            set(Partner.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - ids
        )
        ids |= frontier
    return ids


def member_partner_ids(user) -> set[int]:
    """Partners a partner user acts for: its own organisation and its sub-tree."""
    m = membership(user)
    if m is None:
        return set()
    if not hasattr(user, "_member_partner_ids"):
        user._member_partner_ids = partner_subtree_ids(m.partner_id)
    return user._member_partner_ids


# --- predicates -------------------------------------------------------------------------------


@rules.predicate
def is_program_admin(user) -> bool:
    return _role(user) == StaffRole.PROGRAM_ADMIN


@rules.predicate
def is_partner_manager(user) -> bool:
    return _role(user) == StaffRole.PARTNER_MANAGER


@rules.predicate
def is_finance(user) -> bool:
    return _role(user) == StaffRole.FINANCE


@rules.predicate
def is_vendor_staff(user) -> bool:
    return bool(_role(user))


@rules.predicate
def reads_all_partners(user) -> bool:
    return _role(user) in ALL_PARTNER_READERS


@rules.predicate
def is_partner_user(user) -> bool:
    return membership(user) is not None


@rules.predicate
def manages(user, partner: Partner | None) -> bool:
    # Without an object: "may manage some partner" (true for any partner manager).
    if partner is None:
        return is_partner_manager(user)
    return is_partner_manager(user) and partner.partner_manager_id == user.id


@rules.predicate
def is_member_of(user, partner: Partner | None) -> bool:
    if partner is None:
        return is_partner_user(user)
    return partner.pk in member_partner_ids(user)


@rules.predicate
def is_partner_admin_of(user, partner: Partner | None) -> bool:
    m = membership(user)
    if m is None or m.role != PartnerRole.ADMIN:
        return False
    return partner is None or partner.pk in member_partner_ids(user)


@rules.predicate
def invitations_allowed(user, partner: Partner | None) -> bool:
    return partner is None or partner.allow_user_invitations


@rules.predicate
def is_self(user, other) -> bool:
    return other is None or getattr(other, "pk", None) == user.pk


sees_partner = reads_all_partners | manages | is_member_of
staff_changes_partner = is_program_admin | manages

rules.add_perm("partners.view_partner", sees_partner)
rules.add_perm("partners.add_partner", is_program_admin | is_partner_manager)
# Partner admins edit their organisation's profile and contacts; status, manager and parent
# are staff decisions (partners.change_partner_status / partners.assign_partner).
rules.add_perm("partners.change_partner", staff_changes_partner | is_partner_admin_of)
rules.add_perm("partners.change_partner_status", staff_changes_partner)
rules.add_perm("partners.assign_partner", is_program_admin)
rules.add_perm("partners.delete_partner", is_program_admin)
rules.add_perm("partners.view_contact", sees_partner)
rules.add_perm("partners.change_contact", staff_changes_partner | is_partner_admin_of)
rules.add_perm("partners.add_contact", staff_changes_partner | is_partner_admin_of)
rules.add_perm("partners.delete_contact", staff_changes_partner | is_partner_admin_of)
rules.add_perm("partners.view_partneruser", sees_partner)
rules.add_perm(
    "partners.invite_user",
    staff_changes_partner | (is_partner_admin_of & invitations_allowed),
)
rules.add_perm("partners.change_partneruser", staff_changes_partner | is_partner_admin_of)
rules.add_perm("partners.view_invitation", staff_changes_partner | is_partner_admin_of)
rules.add_perm("partners.change_invitation", staff_changes_partner | is_partner_admin_of)
rules.add_perm("partners.view_trackmembership", sees_partner)
rules.add_perm("partners.change_trackmembership", staff_changes_partner)
rules.add_perm("partners.view_statuschange", sees_partner)
rules.add_perm("partners.view_partnerapplication", is_program_admin | is_partner_manager)
rules.add_perm("partners.change_partnerapplication", is_program_admin | is_partner_manager)

rules.add_perm("programs.view_program", rules.is_authenticated)
rules.add_perm("programs.add_program", is_program_admin)
rules.add_perm("programs.view_programversion", rules.is_authenticated)
rules.add_perm("programs.view_track", rules.is_authenticated)
rules.add_perm("programs.view_tier", rules.is_authenticated)

rules.add_perm("accounts.view_user", is_program_admin | is_self)
rules.add_perm("accounts.add_user", is_program_admin)
rules.add_perm("accounts.change_user", is_program_admin)
rules.add_perm("accounts.view_apitoken", is_program_admin)
rules.add_perm("accounts.change_apitoken", is_program_admin)

rules.add_perm("auditlog.view_logentry", is_vendor_staff)

# Training: the catalogue is public to signed-in users and edited by program admins; people and
# their certifications belong to their partner.
for _model in ("course", "certification", "competency"):
    rules.add_perm(f"training.view_{_model}", rules.is_authenticated)
    rules.add_perm(f"training.add_{_model}", is_program_admin)
    rules.add_perm(f"training.change_{_model}", is_program_admin)
rules.add_perm("training.manage_catalogue", is_program_admin)
rules.add_perm("training.import_completions", is_program_admin)
rules.add_perm("training.revoke_personcertification", is_program_admin)
rules.add_perm("training.change_personcertification", is_program_admin)
rules.add_perm("training.add_coursecompletion", is_program_admin)
rules.add_perm("training.view_person", sees_partner)
rules.add_perm("training.view_coursecompletion", sees_partner)
rules.add_perm("training.view_personcertification", sees_partner)
rules.add_perm("training.add_person", staff_changes_partner | is_partner_admin_of)
rules.add_perm("training.change_person", staff_changes_partner | is_partner_admin_of)

# Sales: finance and program admins import billings and keep the catalogue; lines are read
# through the partner scope.
for _perm in (
    "add_billingline",
    "add_product",
    "change_product",
    "add_productcategory",
    "change_productcategory",
    "change_customer",
):
    rules.add_perm(f"sales.{_perm}", is_program_admin | is_finance)
for _model in ("product", "productcategory"):
    rules.add_perm(f"sales.view_{_model}", rules.is_authenticated)
rules.add_perm("sales.view_customer", is_vendor_staff)
rules.add_perm("sales.view_billingline", sees_partner)

rules.add_perm("tiers.view_partnertier", sees_partner)
rules.add_perm("tiers.add_tieroverride", staff_changes_partner)
rules.add_perm("tiers.change_tieroverride", staff_changes_partner)
rules.add_perm("tiers.add_nomination", staff_changes_partner)
rules.add_perm("tiers.decide_nomination", is_program_admin)
rules.add_perm("tiers.view_nomination", is_program_admin | manages)
rules.add_perm("tiers.add_evidenceitem", staff_changes_partner)
rules.add_perm("tiers.import_surveyresponse", is_program_admin | is_finance)
rules.add_perm("tiers.run_evaluation", is_program_admin)
rules.add_perm("tiers.view_evaluationrun", is_vendor_staff)
rules.add_perm("tiers.view_tierchange", sees_partner)
rules.add_perm("tiers.view_tieroverride", sees_partner)
rules.add_perm("tiers.change_nomination", is_program_admin)
rules.add_perm("tiers.view_evidenceitem", sees_partner)
rules.add_perm("tiers.change_evidenceitem", staff_changes_partner)
rules.add_perm("tiers.view_surveyresponse", is_vendor_staff)

# Deal registration: the partner's people register and follow their deals; the vendor staff
# who manage the partner (and program admins) review them.
rules.add_perm("deals.view_dealregistration", sees_partner)
rules.add_perm("deals.add_dealregistration", is_member_of | staff_changes_partner)
rules.add_perm("deals.change_dealregistration", is_member_of | staff_changes_partner)
rules.add_perm("deals.review_dealregistration", staff_changes_partner)
rules.add_perm("deals.view_review_queue", is_program_admin | is_partner_manager)
rules.add_perm("deals.import_dealregistration", is_program_admin)
rules.add_perm("deals.run_deal_jobs", is_program_admin)
rules.add_perm("deals.check_conflicts", is_partner_user | is_vendor_staff)


# Quotes (quotes.*): the partner's people and the staff who manage it ask for quotes, accept
# them and order NFR units; whoever sees the partner reads them. Credit lines are kept by
# program admins and finance and read by whoever sees the partner.
rules.add_perm("quotes.view_quote", sees_partner)
rules.add_perm("quotes.add_quote", is_member_of | staff_changes_partner)
rules.add_perm("quotes.change_quote", is_member_of | staff_changes_partner)
rules.add_perm("quotes.view_creditline", sees_partner)
rules.add_perm("quotes.change_creditline", is_program_admin | is_finance)
rules.add_perm("quotes.view_nfrpurchase", sees_partner)
rules.add_perm("quotes.add_nfrpurchase", is_member_of | staff_changes_partner)

# Charging (charging.*): the operator's assets. Rules receive the object itself (a charge
# point, EVSE, tariff, tariff group, driver) or a partner; the partner hosting or owning it
# decides. Unhosted assets and the operator's own tariffs (no partner) are program admins'.
# Partner admins manage their own tariffs (and assign them to what they host) only while
# their contract in force has ``can_manage_tariffs``; they add drivers with
# ``can_create_users``.


def _charging_owner(obj):
    from partnerhub.partners.models import Partner

    if obj is None or isinstance(obj, Partner):
        return obj
    if hasattr(obj, "charge_point_id") and not hasattr(obj, "identity"):  # an EVSE
        return obj.charge_point.partner
    return getattr(obj, "partner", None)


@rules.predicate
def charging_staff(user, obj) -> bool:
    """Program admins; the partner manager of the partner hosting / owning ``obj``."""
    if is_program_admin(user):
        return True
    owner = _charging_owner(obj)
    return owner is not None and manages(user, owner)


@rules.predicate
def charging_partner_admin(user, obj) -> bool:
    owner = _charging_owner(obj)
    return owner is not None and is_partner_admin_of(user, owner)


def contract_allows(option: str):
    """The owner's site-host contract in force today grants the partner option ``option``."""

    @rules.predicate(name=f"contract_allows_{option}")
    def allows(user, obj) -> bool:
        owner = _charging_owner(obj)
        if owner is None:
            return False
        from partnerhub.charging.selectors import contract_in_force

        contract = contract_in_force(partner_id=owner.pk)
        return bool(contract and getattr(contract, option))

    return allows


rules.add_perm("charging.add_location", is_program_admin | is_partner_manager)
rules.add_perm("charging.change_location", is_program_admin | is_partner_manager)
rules.add_perm("charging.add_chargepoint", charging_staff)
rules.add_perm("charging.change_chargepoint", charging_staff)
rules.add_perm("charging.host_chargepoint", staff_changes_partner)
rules.add_perm("charging.report_status", charging_staff)
rules.add_perm(
    "charging.manage_tariffs",
    charging_staff | (charging_partner_admin & contract_allows("can_manage_tariffs")),
)
rules.add_perm("charging.view_corporatebilling", sees_partner)
rules.add_perm("charging.change_corporatebilling", staff_changes_partner)
rules.add_perm(
    "charging.add_driver",
    charging_staff | (charging_partner_admin & contract_allows("can_create_users")),
)
rules.add_perm("charging.change_driver", charging_staff | charging_partner_admin)
rules.add_perm("charging.authorize_session", is_program_admin)
for _model in (
    "location",
    "electricityprice",
    "chargepoint",
    "chargepointhosting",
    "evse",
    "connector",
    "tariff",
    "tariffgroup",
    "tariffassignment",
    "driver",
    "statusnotification",
):
    rules.add_perm(f"charging.view_{_model}", is_vendor_staff)

# Charging sessions (CDRs): seen by whoever sees the partner that hosted the charge point on
# the session's start day (``session.partner``) or the partner billed for it under corporate
# billing (``corporate_partner``); program admins, finance and viewers see all of them
# (unhosted ones included). Program admins and finance import them. The list scope is
# ``visible_charging_sessions(user)`` below.


@rules.predicate
def sees_charging_session(user, session) -> bool:
    if session is None:
        return is_vendor_staff(user) or is_partner_user(user)
    if reads_all_partners(user):
        return True
    ids = {session.partner_id, session.corporate_partner_id} - {None}
    return bool(ids) and visible_partners(user).filter(id__in=ids).exists()


rules.add_perm("charging.view_chargingsession", sees_charging_session)
rules.add_perm("charging.import_chargingsession", is_program_admin | is_finance)

# Settlements: contracts are kept by program admins and the partner's manager; statements,
# running figures and receipts are read by whoever sees the partner; finance and program
# admins run, finalise and record payments.
rules.add_perm("settlements.view_contract", sees_partner)
rules.add_perm("settlements.change_contract", staff_changes_partner)
rules.add_perm("settlements.view_statement", sees_partner)
rules.add_perm("settlements.run_settlement", is_program_admin | is_finance)
rules.add_perm("settlements.view_settlementrun", is_vendor_staff)
rules.add_perm("settlements.finalise_statement", is_program_admin | is_finance)
rules.add_perm("settlements.add_payment", is_program_admin | is_finance)
rules.add_perm("settlements.view_receipts", sees_partner)


# Market development funds (mdf.*): whoever sees the partner reads its fund, requests and
# claims; its people and the staff who manage it request and claim; those staff decide;
# program admins and finance allocate funds and run the expiry.
rules.add_perm("mdf.view_mdf", sees_partner)
rules.add_perm("mdf.request_mdf", is_member_of | staff_changes_partner)
rules.add_perm("mdf.review_mdf", staff_changes_partner)
rules.add_perm("mdf.view_mdf_queue", is_program_admin | is_partner_manager | is_finance)
rules.add_perm("mdf.allocate_mdf", is_program_admin | is_finance)
rules.add_perm("mdf.run_mdf_jobs", is_program_admin | is_finance)

# Incentives (incentives.*): whoever sees the partner reads its ledger, balances, statements,
# elections and SPIFF claims; finance and program admins run accruals, import customer
# payments, close rebates, create SPIFF campaigns, adjust and pay out; a partner's admins (and
# the staff who change it, and finance) elect its referral benefit; its people and managing
# staff claim SPIFFs, which those staff decide. Runs and closes are read by vendor staff.
rules.add_perm("incentives.view_incentives", sees_partner)
rules.add_perm("incentives.run_accrual", is_program_admin | is_finance)
rules.add_perm("incentives.import_customerpayment", is_program_admin | is_finance)
rules.add_perm(
    "incentives.elect_referral", is_program_admin | is_finance | manages | is_partner_admin_of
)
rules.add_perm("incentives.close_rebate", is_program_admin | is_finance)
rules.add_perm("incentives.add_spiffcampaign", is_program_admin | is_finance)
rules.add_perm("incentives.claim_spiff", is_member_of | staff_changes_partner)
rules.add_perm("incentives.decide_spiffclaim", staff_changes_partner)
rules.add_perm("incentives.add_adjustment", is_program_admin | is_finance)
rules.add_perm("incentives.run_payout", is_program_admin | is_finance)
rules.add_perm("incentives.view_runs", is_vendor_staff)
rules.add_perm("incentives.view_spiffcampaign", rules.is_authenticated)
for _model in ("ledgerentry", "referralelection", "spiffclaim", "customerpayment"):
    rules.add_perm(f"incentives.view_{_model}", is_vendor_staff)
for _model in ("accrualrun", "payoutrun", "rebateclose"):
    rules.add_perm(f"incentives.view_{_model}", is_vendor_staff)
for _model in ("mdfallocation", "mdfrequest", "mdfclaim", "mdfproof"):
    rules.add_perm(f"mdf.view_{_model}", sees_partner)
rules.add_perm("mdf.view_mdfexpiryrun", is_vendor_staff)

# Webhooks: program admins keep the endpoints (they carry every partner's events out).
rules.add_perm("webhooks.view_webhookendpoint", is_program_admin)
rules.add_perm("webhooks.change_webhookendpoint", is_program_admin)
rules.add_perm("webhooks.view_webhookdelivery", is_program_admin)


def require(user, perm: str, obj=None, message: str = "You do not have permission to do this."):
    """Raise PermissionDenied (403 in the API) unless ``user`` has ``perm`` (on ``obj``)."""
    from django.core.exceptions import PermissionDenied

    if not user.has_perm(perm, obj):
        raise PermissionDenied(message)


# --- scopes -------------------------------------------------------------------------------


def visible_partners(user) -> QuerySet[Partner]:
    """Every partner ``user`` may see."""
    from partnerhub.partners.models import Partner

    qs = Partner.objects.all()
    if reads_all_partners(user):
        return qs
    if is_partner_manager(user):
        return qs.filter(partner_manager=user)
    ids = member_partner_ids(user)
    return qs.filter(id__in=ids) if ids else qs.none()


def scope_to_visible_partners(qs: QuerySet, user, field: str = "partner") -> QuerySet:
    """``qs`` (rows with a non-null partner key at ``field``) restricted to the partners ``user``
    may see, exactly as ``field__in=visible_partners(user)``; for the roles that read every
    partner no filter is added at all (a ``partner IN (every partner)`` subquery costs a scan
    of the partners on large tables, on SQLite most of all)."""
    if reads_all_partners(user):
        return qs
    return qs.filter(**{f"{field}__in": visible_partners(user).values("pk")})


def visible_charging_sessions(user):
    """Every charging session ``user`` may see (see ``sees_charging_session``)."""
    from django.db.models import Q

    from partnerhub.charging.models import ChargingSession

    qs = ChargingSession.objects.all()
    if reads_all_partners(user):
        return qs
    ids = list(visible_partners(user).values_list("pk", flat=True))
    if not ids:
        return qs.none()
    return qs.filter(Q(partner_id__in=ids) | Q(corporate_partner_id__in=ids))
