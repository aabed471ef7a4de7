"""Charge-point status changes: a change to faulted e-mails the host's technical contact when
its contract in force has fault notifications, after the transaction commits."""

import datetime as dt

import pytest
from django.core import mail

from partnerhub.charging import services
from partnerhub.charging.models import StatusNotification
from partnerhub.core.models import Event
from partnerhub.partners.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def technical(world):
    return Contact.objects.create(
        partner=world.partner_a, role="technical", name="Tom Tech", email="tech@alpha.test"
    )


def _report(client, cp, status="faulted", **extra):
    return client.post(f"/charging/charge-points/{cp.pk}/status", {"status": status, **extra})


def test_fault_e_mails_the_technical_contact_when_opted_in(
    api_as, world, site, technical, contract_for, django_capture_on_commit_callbacks
):
    contract_for(world.partner_a, fault_notifications=True)
    client = api_as(world.program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        r = _report(client, site.ac, error_code="GroundFailure", info="RCD tripped")
    assert r.status_code == 201, r.body
    assert (r.body["from_status"], r.body["to_status"], r.body["notified"]) == (
        "available",
        "faulted",
        True,
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["tech@alpha.test"]
    assert message.subject == "Charge point CP-AC is faulted"
    assert "Hello Tom Tech," in message.body
    assert "Alpha Depot (Hafenweg 1, Berlin)" in message.body
    assert "Error code: GroundFailure" in message.body
    assert "Details: RCD tripped" in message.body
    site.ac.refresh_from_db()
    assert site.ac.status == "faulted" and site.ac.status_changed_at is not None
    event = Event.objects.get(name="charging.charge_point_faulted")
    assert event.partner_id == world.partner_a.pk
    assert event.payload["notified"] == "tech@alpha.test"
    assert event.payload["error_code"] == "GroundFailure"

    # Still faulted: recorded, but no second e-mail or event.
    with django_capture_on_commit_callbacks(execute=True):
        r = _report(client, site.ac, error_code="GroundFailure")
    assert r.status_code == 201 and r.body["notified"] is False
    assert len(mail.outbox) == 1
    assert Event.objects.filter(name="charging.charge_point_faulted").count() == 1
    # Back to available, then faulted again: a new e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        _report(client, site.ac, status="available")
        _report(client, site.ac)
    assert len(mail.outbox) == 2
    assert StatusNotification.objects.filter(charge_point=site.ac).count() == 4


@pytest.mark.parametrize(
    "setup",
    ["no_contract", "opted_out", "contract_ended", "no_technical_contact", "unhosted"],
)
def test_no_e_mail_unless_the_host_opted_in(
    world, site, contract_for, django_capture_on_commit_callbacks, setup
):
    if setup != "no_technical_contact":
        Contact.objects.create(
            partner=world.partner_a, role="technical", name="Tom", email="tech@alpha.test"
        )
    if setup == "opted_out":
        contract_for(world.partner_a, fault_notifications=False)
    elif setup == "contract_ended":
        contract_for(world.partner_a, fault_notifications=True, end_month=dt.date(2025, 1, 1))
    elif setup in ("no_technical_contact", "unhosted"):
        contract_for(world.partner_a, fault_notifications=True)
    if setup == "unhosted":
        services.hosting_assign(charge_point=site.ac, partner=None, valid_from=services.today())
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.charge_point_report_status(
            charge_point=site.ac, status="faulted", error_code="OtherError"
        )
    assert mail.outbox == []
    assert notification.notified_email == ""
    # The event is written either way (webhooks and the console may still react).
    assert Event.objects.filter(name="charging.charge_point_faulted").count() == 1


def test_auto_renewed_contract_still_opts_in(
    world, site, technical, contract_for, django_capture_on_commit_callbacks
):
    contract_for(
        world.partner_a,
        fault_notifications=True,
        end_month=dt.date(2025, 1, 1),
        auto_renew=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.charge_point_report_status(charge_point=site.ac, status="faulted")
    assert [m.to for m in mail.outbox] == [["tech@alpha.test"]]


def test_rolled_back_report_sends_nothing(world, site, technical, contract_for):
    from django.db import transaction

    contract_for(world.partner_a, fault_notifications=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.charge_point_report_status(charge_point=site.ac, status="faulted")
        raise RuntimeError("boom")
    assert mail.outbox == []
    assert not StatusNotification.objects.exists()


def test_status_report_permissions_and_validation(api_as, world, site):
    assert _report(api_as(world.admin_a), site.ac).status_code == 403
    assert _report(api_as(world.finance), site.ac).status_code == 403
    assert _report(api_as(world.admin_b), site.ac).status_code == 404
    r = _report(api_as(world.manager), site.ac, status="exploded")
    assert r.status_code == 422 and r.body["detail"][0]["loc"] == ["body", "status"]
    r = _report(api_as(world.manager), site.ac, error_code="x" * 51)
    assert r.status_code == 422 and r.body["detail"][0]["loc"] == ["body", "error_code"]
    assert _report(api_as(world.manager), site.ac).status_code == 201
