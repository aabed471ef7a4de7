"""The registration workflow through the API: what a partner and a reviewer see and can do."""

import datetime as dt

import pytest
from django.utils import timezone

from partnerhub.core.models import Event
from partnerhub.deals import services
from partnerhub.deals.models import DealRegistration, DealStatus

pytestmark = pytest.mark.django_db


def test_partner_registers_and_submits_an_opportunity(api_as, world, deal_data):
    r = api_as(world.sales_a).post("/deals/registrations", deal_data(submit=True))
    assert r.status_code == 201, r.body
    body = r.body
    assert body["status"] == "submitted"
    assert body["partner_id"] == world.partner_a.pk
    assert body["program"] == "ev-hardware"
    assert body["estimated_value"] == "24000.00"
    assert body["products"][0]["sku"] == "WB-22"
    assert body["flagged"] is False
    assert [h["to_status"] for h in body["history"]] == ["draft", "submitted"]
    assert body["reference"].startswith("DR-")


def test_draft_can_be_edited_then_submitted(api_as, world, deal_data):
    client = api_as(world.sales_a)
    reg = client.post("/deals/registrations", deal_data()).body
    assert reg["status"] == "draft"
    r = client.patch(f"/deals/registrations/{reg['id']}", {"estimated_value": "30000"})
    assert r.status_code == 200, r.body
    assert r.body["estimated_value"] == "30000.00"
    r = client.post(f"/deals/registrations/{reg['id']}/submit")
    assert r.status_code == 200 and r.body["status"] == "submitted"
    r = client.patch(f"/deals/registrations/{reg['id']}", {"estimated_value": "1"})
    assert r.status_code == 409
    assert "only drafts" in r.body["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"products": []}, "products", "at least"),
        ({"estimated_value": "0"}, "estimated_value", "greater than 0"),
        ({"expected_close_date": "2099-01-01"}, "expected_close_date", "horizon"),
        ({"expected_close_date": "2020-01-01"}, "expected_close_date", "has passed"),
        ({"products": [{"sku": "NOPE", "quantity": 1}]}, "products.0", "No product"),
        ({"customer_country": "XX"}, "customer_country", "Unknown country"),
        ({"customer_name": "..."}, "customer_name", "letters or digits"),
    ],
)
def test_account_level_or_invalid_registrations_are_refused(
    api_as, world, deal_data, overrides, field, words
):
    r = api_as(world.sales_a).post("/deals/registrations", deal_data(submit=True, **overrides))
    assert r.status_code in (400, 422), r.body
    detail = r.body["detail"][0]
    assert field in ".".join(str(x) for x in detail["loc"]), detail
    assert words.lower() in detail["msg"].lower(), detail
    assert not DealRegistration.objects.exists()


def test_horizon_edge_is_inclusive(register, world):
    today = timezone.localdate()
    reg = register(expected_close_date=(today + dt.timedelta(days=365)).isoformat())
    assert reg.status == DealStatus.SUBMITTED
    with pytest.raises(services.ServiceError, match="horizon"):
        register(
            name="Other Customer",
            customer_website="other-customer.com",
            contact_email="x@other-customer.com",
            expected_close_date=(today + dt.timedelta(days=366)).isoformat(),
        )


def test_gated_product_needs_a_certified_person(register, world, products):
    from partnerhub.training.models import Certification

    cert = Certification.objects.create(key="dc-install", name="DC installation")
    products["dc"].required_certification = cert
    products["dc"].save()
    with pytest.raises(services.ServiceError, match="DC installation"):
        register(products=[{"sku": "DC-150", "quantity": 1}])


def test_approval_protects_for_the_tier_days_and_mails_the_partner(
    api_as, world, register, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(user=world.sales_a)
    assert any(world.manager.email in m.to for m in mailoutbox), "reviewer not told"
    with django_capture_on_commit_callbacks(execute=True):
        r = api_as(world.manager).post(f"/deals/registrations/{reg.pk}/approve", {})
    assert r.status_code == 200, r.body
    today = timezone.localdate()
    # Entry tier "authorized" of the EV program: 30 days, approval day included.
    assert r.body["protection_days"] == 30
    assert r.body["protected_until"] == (today + dt.timedelta(days=29)).isoformat()
    approved_mail = [m for m in mailoutbox if "approved" in m.subject]
    assert approved_mail and world.sales_a.email in approved_mail[0].to
    assert Event.objects.filter(name="deal.approved", partner=world.partner_a).exists()


def test_protection_follows_the_partners_current_tier(api_as, world, register):
    from partnerhub.tiers.models import PartnerTier

    PartnerTier.objects.create(
        partner=world.partner_a,
        program=world.partner_a.track_memberships.first().program,
        track_key="var",
        tier_key="gold",
        rank=2,
        since="2025-02-01",
        held_until="2099-01-31",
        source="evaluated",
        last_evaluated_on="2025-02-01",
    )
    reg = register()
    services.registration_approve(registration=reg, approved_by=world.manager)
    reg.refresh_from_db()
    assert reg.protection_days == 90


def test_reject_needs_a_reason(api_as, world, register):
    reg = register()
    client = api_as(world.manager)
    r = client.post(f"/deals/registrations/{reg.pk}/reject", {"reason": ""})
    assert r.status_code in (400, 422)
    r = client.post(f"/deals/registrations/{reg.pk}/reject", {"reason": "Existing direct deal"})
    assert r.status_code == 200
    assert r.body["status"] == "rejected"
    assert r.body["decision_reason"] == "Existing direct deal"


def test_partner_cannot_approve_its_own_registration(api_as, world, register):
    reg = register()
    r = api_as(world.admin_a).post(f"/deals/registrations/{reg.pk}/approve", {})
    assert r.status_code == 403


def test_manager_of_another_partner_cannot_review(api_as, world, register):
    reg = register()
    r = api_as(world.other_manager).post(f"/deals/registrations/{reg.pk}/approve", {})
    assert r.status_code == 404  # not even visible


def test_later_conflicting_registration_is_flagged_and_needs_an_override(api_as, world, register):
    first = register(world.partner_a)
    second = register(
        world.partner_b,
        name="ACME Logistics",
        customer_website="acme-logistics.de",
        contact_email="einkauf@acme-logistics.de",
    )
    assert first.flagged is False
    assert second.flagged is True
    assert Event.objects.filter(name="deal.conflict_detected", partner=world.partner_b).exists()
    conflict = second.conflicts.get()
    assert conflict.other == first
    assert {f["field"] for f in conflict.fields} >= {"domain"}
    admin = api_as(world.program_admin)
    r = admin.post(f"/deals/registrations/{second.pk}/approve", {})
    assert r.status_code == 409
    assert first.reference in r.body["detail"][0]["msg"]
    assert r.body["detail"][0]["loc"][-1] == "override_reason"
    r = admin.post(
        f"/deals/registrations/{second.pk}/approve",
        {"override_reason": "Customer asked for Beta's installer team"},
    )
    assert r.status_code == 200, r.body
    assert r.body["override_reason"] == "Customer asked for Beta's installer team"


def test_flag_lifts_once_the_earlier_registration_is_rejected(world, register):
    first = register(world.partner_a)
    second = register(world.partner_b, name="Acme Logistics")
    services.registration_reject(registration=first, rejected_by=world.manager, reason="dup")
    services.registration_approve(registration=second, approved_by=world.program_admin)
    second.refresh_from_db()
    assert second.status == DealStatus.APPROVED
    assert second.override_reason == ""


def test_review_queue_shows_conflicts_side_by_side(api_as, world, register):
    first = register(world.partner_a)
    second = register(world.partner_b, name="Acme Logistics Gmbh.")
    r = api_as(world.program_admin).get("/deals/registrations/review-queue")
    assert r.status_code == 200
    items = {i["id"]: i for i in r.body["items"]}
    assert items[first.pk]["priority"] is True
    assert items[second.pk]["priority"] is False
    conflict = items[second.pk]["conflicts"][0]
    assert conflict["registration_id"] == first.pk
    assert conflict["partner_name"] == world.partner_a.display_name
    assert conflict["score"] > 0 and conflict["fields"]


def test_partners_cannot_use_the_review_queue(api_as, world):
    assert api_as(world.admin_a).get("/deals/registrations/review-queue").status_code == 403


def test_conflict_check_warns_a_partner_without_naming_the_holder(api_as, world, register):
    reg = register(world.partner_a)
    services.registration_approve(registration=reg, approved_by=world.manager)
    r = api_as(world.admin_b).post(
        "/deals/conflict-check",
        {"customer_name": "ACME Logistics GmbH", "customer_country": "DE"},
    )
    assert r.status_code == 200
    assert r.body["protected"] is True
    assert "protected through" in r.body["message"]
    hit = r.body["conflicts"][0]
    assert hit["partner_name"] is None and hit["registration_id"] is None
    assert hit["customer_name"] is None
    assert "Alpha" not in str(r.body) and "acme-logistics" not in str(r.body)


def test_conflict_check_shows_own_registrations_in_full(api_as, world, register):
    reg = register(world.partner_a)
    r = api_as(world.sales_a).post("/deals/conflict-check", {"customer_name": "Acme Logistics"})
    assert r.body["conflicts"][0]["registration_id"] == reg.pk
    assert r.body["protected"] is False


def test_conflict_check_with_nothing_typed(api_as, world):
    r = api_as(world.sales_a).post("/deals/conflict-check", {})
    assert r.status_code == 200 and r.body["conflicts"] == []


def test_close_lost_by_partner_and_won_only_by_staff(api_as, world, register):
    reg = register()
    services.registration_approve(registration=reg, approved_by=world.manager)
    partner = api_as(world.sales_a)
    r = partner.post(f"/deals/registrations/{reg.pk}/close", {"outcome": "won"})
    assert r.status_code == 403
    r = partner.post(f"/deals/registrations/{reg.pk}/close", {"outcome": "lost"})
    assert r.status_code == 400 and "why" in r.body["detail"][0]["msg"]
    r = partner.post(
        f"/deals/registrations/{reg.pk}/close", {"outcome": "lost", "reason": "Budget cut"}
    )
    assert r.status_code == 200 and r.body["status"] == "lost"


def test_extension_request_and_approval(api_as, world, register):
    reg = register()
    services.registration_approve(registration=reg, approved_by=world.manager)
    reg.refresh_from_db()
    until = reg.protected_until
    r = api_as(world.sales_a).post(
        f"/deals/registrations/{reg.pk}/extensions", {"days": 30, "reason": "Board meets late"}
    )
    assert r.status_code == 201, r.body
    again = api_as(world.sales_a).post(
        f"/deals/registrations/{reg.pk}/extensions", {"days": 10, "reason": "more"}
    )
    assert again.status_code == 409
    ext_id = r.body["id"]
    assert (
        api_as(world.sales_a)
        .post(f"/deals/extensions/{ext_id}/decide", {"approve": True})
        .status_code
        == 403
    )
    r = api_as(world.manager).post(f"/deals/extensions/{ext_id}/decide", {"approve": True})
    assert r.status_code == 200
    reg.refresh_from_db()
    assert reg.protected_until == until + dt.timedelta(days=30)
    assert r.body["new_until"] == reg.protected_until.isoformat()


def test_refusing_an_extension_needs_a_reason(api_as, world, register):
    reg = register()
    services.registration_approve(registration=reg, approved_by=world.manager)
    ext = services.extension_request(
        registration=reg, requested_by=world.sales_a, days=10, reason="x"
    )
    r = api_as(world.manager).post(f"/deals/extensions/{ext.pk}/decide", {"approve": False})
    assert r.status_code == 400


def test_expiry_on_the_right_day_and_idempotent(world, register):
    reg = register()
    approved = timezone.localdate()
    services.registration_approve(registration=reg, approved_by=world.manager, on=approved)
    reg.refresh_from_db()
    last_day = approved + dt.timedelta(days=29)
    assert reg.protected_until == last_day
    assert services.registrations_expire(on=last_day) == 0  # still protected on its last day
    assert services.registrations_expire(on=last_day + dt.timedelta(days=1)) == 1
    assert services.registrations_expire(on=last_day + dt.timedelta(days=1)) == 0
    reg.refresh_from_db()
    assert reg.status == DealStatus.EXPIRED
    assert reg.closed_on == last_day + dt.timedelta(days=1)
    assert reg.history.filter(to_status="expired").count() == 1


def test_expired_registration_no_longer_conflicts(world, register):
    reg = register()
    services.registration_approve(registration=reg, approved_by=world.manager)
    services.registrations_expire(on=timezone.localdate() + dt.timedelta(days=31))
    later = register(world.partner_b, name="Acme Logistics")
    assert later.flagged is False


def test_attachments_upload_and_download_only_for_the_partner(client, api_as, world, register):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from partnerhub.accounts.services import api_token_create

    reg = register()
    _, token = api_token_create(user=world.sales_a, name="t")
    r = client.post(
        f"/api/v1/deals/registrations/{reg.pk}/attachments",
        {"file": SimpleUploadedFile("site-plan.pdf", b"%PDF-1.4 plan", "application/pdf")},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert r.status_code == 201, r.content
    att = r.json()
    assert att["name"] == "site-plan.pdf" and att["size"] == 13
    url = f"/api/v1/deals/registrations/{reg.pk}/attachments/{att['id']}"
    r = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"%PDF-1.4 plan"
    _, token_b = api_token_create(user=world.admin_b, name="t")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token_b}").status_code == 404


def test_lists_are_scoped_to_the_partner(api_as, world, register):
    register(world.partner_a)
    register(
        world.partner_b,
        name="Totally Different SA",
        customer_website="different.fr",
        contact_email="a@different.fr",
        customer_country="FR",
    )
    mine = api_as(world.admin_a).get("/deals/registrations").body["items"]
    assert {i["partner_id"] for i in mine} == {world.partner_a.pk}
    assert len(api_as(world.program_admin).get("/deals/registrations").body["items"]) == 2


def test_partner_user_cannot_register_for_another_partner(api_as, world, deal_data):
    r = api_as(world.admin_a).post("/deals/registrations", deal_data(partner_id=world.partner_b.pk))
    assert r.status_code == 404


def test_partner_in_several_programs_must_name_one(api_as, world, deal_data):
    from conftest import EXAMPLES
    from partnerhub.partners.models import TrackMembership
    from partnerhub.programs.services import program_load

    other = program_load(source=(EXAMPLES / "saas-three-tier.yaml").read_text()).version.program
    TrackMembership.objects.create(
        partner=world.partner_a,
        program=other,
        track_key=other.versions.first().tracks.first().key,
        joined_on="2025-01-01",
    )
    r = api_as(world.sales_a).post("/deals/registrations", deal_data())
    assert r.status_code == 400 and r.body["detail"][0]["loc"][-1] == "program"
    r = api_as(world.sales_a).post("/deals/registrations", deal_data(program="ev-hardware"))
    assert r.status_code == 201


def test_every_transition_is_audited_and_emitted(world, register):
    from auditlog.models import LogEntry

    reg = register()
    services.registration_reject(registration=reg, rejected_by=world.manager, reason="dup")
    names = list(Event.objects.filter(partner=world.partner_a).values_list("name", flat=True))
    assert {"deal.draft", "deal.submitted", "deal.rejected"} <= set(names)
    assert "deal.conflict_detected" not in names
    assert LogEntry.objects.get_for_object(reg).count() >= 2
