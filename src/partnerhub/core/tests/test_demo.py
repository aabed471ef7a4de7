"""``partnerhub demo``: a valid, believable, idempotent demo data set with working logins."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from io import StringIO

import phonenumbers
import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from partnerhub.accounts.models import PartnerRole, StaffRole, User
from partnerhub.core.demo import (
    ADMIN_EMAIL,
    COUNTRIES,
    DEMO_PASSWORD,
    OPERATOR_ADMIN_EMAIL,
    PARTNER_ADMIN_EMAIL,
    make_phone,
    make_vat_id,
)
from partnerhub.core.permissions import visible_partners
from partnerhub.partners.models import (
    ApplicationStatus,
    Contact,
    ContactRole,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerUser,
    StatusChange,
    TrackMembership,
)
from partnerhub.partners.validation import normalize_vat_id
from partnerhub.programs.models import Program

EU = {"AT", "BE", "DE", "DK", "ES", "FI", "FR", "IT", "NL", "PL", "SE"}


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def _assert_valid_phone(phone: str) -> None:
    parsed = phonenumbers.parse(phone)
    assert phonenumbers.is_valid_number(parsed), phone
    assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == phone


def test_generated_vat_ids_and_phones_validate_for_every_country():
    rng = random.Random(7)
    for code in COUNTRIES:
        for _ in range(20):
            vat_id = make_vat_id(rng, code)
            if code == "US":
                assert vat_id == ""
            else:
                assert vat_id and normalize_vat_id(vat_id, code) == vat_id, (code, vat_id)
            phone = make_phone(rng, code, mobile=rng.random() < 0.5)
            _assert_valid_phone(phone)
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
            assert region == code


@pytest.mark.django_db
def test_demo_builds_a_valid_data_set_once():
    out = StringIO()
    call_command("demo", stdout=out)
    output = out.getvalue()

    # Programs, staff of every role, and an admin who may use /admin/.
    assert Program.objects.filter(key="ev-hardware").exists()
    staff_roles = set(User.objects.exclude(staff_role="").values_list("staff_role", flat=True))
    assert staff_roles == set(StaffRole.values)
    assert User.objects.filter(staff_role=StaffRole.PARTNER_MANAGER).count() >= 3
    admin = User.objects.get(email=ADMIN_EMAIL)
    assert admin.is_superuser and admin.is_staff and admin.staff_role == StaffRole.PROGRAM_ADMIN

    # Partners across countries, tracks and statuses.
    partners = list(Partner.objects.all())
    assert len(partners) >= 180
    countries = Counter(str(p.country) for p in partners)
    assert len(countries) >= 15
    statuses = Counter(p.status for p in partners)
    assert set(statuses) == set(PartnerStatus.values)
    assert statuses[PartnerStatus.ACTIVE] > len(partners) / 2
    assert not Partner.objects.filter(track_memberships=None).exists()
    track_keys = {
        (program.key, track.key)
        for program in Program.objects.all()
        for version in program.versions.all()
        for track in version.tracks.all()
    }
    memberships = TrackMembership.objects.select_related("program")
    assert {(m.program.key, m.track_key) for m in memberships} <= track_keys
    assert sum(1 for p in partners if p.partner_manager_id) > len(partners) * 0.9
    assert len({p.legal_name for p in partners}) == len(partners)

    # VAT IDs: every one set validates, and most EU partners have one; DUNS are 9 digits.
    for partner in partners:
        if partner.vat_id:
            assert normalize_vat_id(partner.vat_id, str(partner.country)) == partner.vat_id
        assert partner.duns == "" or (len(partner.duns) == 9 and partner.duns.isdigit())
    eu = [p for p in partners if str(p.country) in EU]
    assert sum(1 for p in eu if p.vat_id) > len(eu) * 0.75

    # Contacts of the three roles with valid E.164 phones; at least one user, an admin among them.
    roles = defaultdict(set)
    for contact in Contact.objects.all():
        roles[contact.partner_id].add(contact.role)
        _assert_valid_phone(contact.phone)
    assert all(roles[p.pk] == set(ContactRole.values) for p in partners)
    admins = set(
        PartnerUser.objects.filter(role=PartnerRole.ADMIN).values_list("partner_id", flat=True)
    )
    assert admins == {p.pk for p in partners}
    assert PartnerUser.objects.exclude(role=PartnerRole.ADMIN).exists()
    assert not User.objects.exclude(email__endswith=".test").exists()

    # Every partner's history leads to its status, with reasons and authors.
    history = defaultdict(list)
    for change in StatusChange.objects.order_by("changed_at", "id"):
        assert change.reason and change.author_id
        history[change.partner_id].append(change)
    for partner in partners:
        assert history[partner.pk][0].from_status == ""
        assert history[partner.pk][-1].to_status == partner.status

    # Everything written is in the audit trail, attributed to the demo program admin.
    assert LogEntry.objects.filter(actor=admin).count() > len(partners)
    assert not LogEntry.objects.exclude(actor=admin).exists()

    applications = PartnerApplication.objects.filter(status=ApplicationStatus.SUBMITTED)
    assert applications.count() >= 3
    for application in applications:
        _assert_valid_phone(application.contact_phone)

    # The printed logins work.
    request = RequestFactory().post("/")
    for email in (
        ADMIN_EMAIL,
        "pm@demo.partnerhub.test",
        "finance@demo.partnerhub.test",
        "viewer@demo.partnerhub.test",
        PARTNER_ADMIN_EMAIL,
        OPERATOR_ADMIN_EMAIL,
    ):
        assert email in output
        user = authenticate(request, username=email, password=DEMO_PASSWORD)
        assert user is not None and user.email == email

    # The sub-operator's admin sees its organisation and children; the other admin only its own.
    operator_admin = User.objects.get(email=OPERATOR_ADMIN_EMAIL)
    operator = operator_admin.partner_membership.partner
    children = set(operator.children.values_list("id", flat=True))
    assert 3 <= len(children) <= 5
    assert set(visible_partners(operator_admin).values_list("id", flat=True)) == {
        operator.pk,
        *children,
    }
    partner_admin = User.objects.get(email=PARTNER_ADMIN_EMAIL)
    assert list(visible_partners(partner_admin)) == [partner_admin.partner_membership.partner]
    for manager in User.objects.filter(staff_role=StaffRole.PARTNER_MANAGER):
        assert visible_partners(manager).exists()

    # Running it again changes nothing and still prints the logins.
    before = _row_counts()
    again = StringIO()
    call_command("demo", stdout=again)
    assert _row_counts() == before
    assert OPERATOR_ADMIN_EMAIL in again.getvalue()


@pytest.mark.django_db
def test_demo_has_activity_and_evaluated_tiers():
    from partnerhub.sales.models import BillingLine
    from partnerhub.tiers.models import PartnerTier
    from partnerhub.training.models import PersonCertification

    call_command("demo", stdout=StringIO())
    assert BillingLine.objects.count() > 1000
    assert PersonCertification.objects.exists()
    active_memberships = TrackMembership.objects.filter(
        partner__status="active", joined_on__lte=timezone.localdate()
    )
    assert PartnerTier.objects.count() == active_memberships.count()
    assert PartnerTier.objects.filter(rank__gt=0).exists(), (
        "some demo partner is above the entry tier"
    )


@pytest.mark.django_db
def test_demo_has_quotes_and_mdf_for_the_named_partners():
    from partnerhub.core.demo import PARTNER_ADMIN_EMAIL
    from partnerhub.mdf.models import MdfAllocation, MdfClaim, MdfRequest
    from partnerhub.partners.models import PartnerUser
    from partnerhub.quotes.models import CreditLine, Quote

    out = StringIO()
    call_command("demo", stdout=out)
    partner = PartnerUser.objects.get(user__email=PARTNER_ADMIN_EMAIL).partner
    assert "skipped" not in out.getvalue(), out.getvalue()[-2000:]
    assert CreditLine.objects.filter(partner=partner).exists()
    assert set(Quote.objects.filter(partner=partner).values_list("status", flat=True)) == {
        "draft",
        "accepted",
    }
    assert MdfAllocation.objects.filter(partner=partner).exists()
    statuses = set(MdfRequest.objects.filter(partner=partner).values_list("status", flat=True))
    assert "submitted" in statuses, statuses  # waiting in the console's MDF queue
    assert (
        MdfClaim.objects.filter(request__partner=partner).exists() or timezone.localdate().day < 3
    )
    assert "Quotes: " in out.getvalue() and "skipped" not in out.getvalue()
    # A second run adds nothing.
    counts = (Quote.objects.count(), MdfRequest.objects.count(), MdfAllocation.objects.count())
    call_command("demo", stdout=StringIO())
    assert (
        Quote.objects.count(),
        MdfRequest.objects.count(),
        MdfAllocation.objects.count(),
    ) == counts
