"""The console's settlement pages: contracts (list, detail, create and edit with errors at the
field), settlement runs (start, progress, finalise with confirmation), statements (filters,
detail with payments) and charging sessions, for each staff role and scope.

The data is the portal's site-host world (``portal/tests/test_sitehost_pages.py``): partner A
(managed by ``manager``) hosts an AC and a DC charge point in Berlin, partner B (managed by
``other_manager``) one in Lyon; last month is settled and final, this month has a draft."""

# ruff: noqa: F811 (the imported fixtures are test arguments)
from __future__ import annotations

import datetime as dt
import html

import pytest
from django.urls import reverse

from partnerhub.portal.tests.test_sitehost_pages import (  # noqa: F401 (fixtures)
    last_month,
    make_session,
    site,
    statements,
    this_month,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def text(response) -> str:
    return html.unescape(response.content.decode())


def contract_post(**overrides) -> dict:
    data = {
        "name": "Omega pilot",
        "currency": "EUR",
        "start_month": "2026-01",
        "end_month": "2027-12",
        "ac_share_percent": "35",
        "dc_share_percent": "25.5",
        "session_fee_ac": "0.10",
        "session_fee_dc": "0.50",
        "kwh_fee_ac": "0.010000",
        "kwh_fee_dc": "0.020000",
        "handling_fee_percent": "2",
        "platform_fee_charge_point": "9.90",
        "platform_fee_ac_evse": "1.50",
        "platform_fee_dc_evse": "5.00",
        "vat_percent": "19",
        "deduct_electricity": "on",
        "reimburse_electricity": "on",
        "allow_start_stop": "on",
        "can_manage_tariffs": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


PAGES = [
    "console:contracts",
    "console:settlement-runs",
    "console:settlement-statements",
    "console:settlement-sessions",
]


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_partner_users_are_sent_to_the_portal(as_user, world, name):
    response = as_user(world.admin_a).get(reverse(name))
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["program_admin", "manager", "finance", "viewer"])
def test_every_staff_role_reads_the_pages(as_user, world, statements, name, role):
    assert as_user(getattr(world, role)).get(reverse(name)).status_code == 200


def test_partner_manager_sees_only_their_partners(as_user, world, statements, site):
    client = as_user(world.other_manager)  # manages B only
    page = text(client.get(reverse("console:settlement-statements")))
    assert statements.b_last.number in page and statements.a_last.number not in page
    for name in (
        "console:settlement-statement",
        "console:settlement-statement-pdf",
        "console:settlement-statement-csv",
    ):
        assert client.get(reverse(name, args=[statements.a_last.pk])).status_code == 404
    assert client.get(reverse("console:contract", args=[site.contract_a.pk])).status_code == 404
    assert (
        client.get(reverse("console:contract-edit", args=[site.contract_a.pk])).status_code == 404
    )
    page = text(client.get(reverse("console:settlement-sessions")))
    assert "CP-FR" in page and "CP-AC" not in page
    page = text(client.get(reverse("console:contracts")))
    assert "Beta contract" in page and "Alpha site contract" not in page


# --- contracts ---------------------------------------------------------------------------------


def test_contract_detail_shows_every_option(as_user, world, site):
    page = text(as_user(world.finance).get(reverse("console:contract", args=[site.contract_a.pk])))
    assert "Alpha site contract" in page and "50 % / 40 %" in page
    assert "Manage tariffs and tariff groups" in page and "Start / stop sessions" in page
    assert "Edit the contract" not in page  # finance reads, does not change contracts
    assert " EUR per kWh" in page


def test_the_contract_list_words_auto_renewal_as_the_detail_does(as_user, world, site):
    from partnerhub.settlements.services import contract_update

    contract_update(contract=site.contract_a, data={"auto_renew": True})
    site.contract_a.refresh_from_db()
    client = as_user(world.finance)
    end = f"{site.contract_a.end_month:%Y-%m}"
    for page in (
        text(client.get(reverse("console:contracts"))),
        text(client.get(reverse("console:contract", args=[site.contract_a.pk]))),
    ):
        assert f"{end}, then month by month" in page


def test_manager_creates_a_contract_with_every_option(as_user, world, site):
    from partnerhub.settlements.models import Contract

    client = as_user(world.manager)  # manages A and the operator
    # The partner picker lists the manager's partners matching the name, never others.
    page = text(client.get(reverse("console:contract-new"), {"partner_q": "e"}))
    assert "Omega Operator" in page and "Beta Energy" not in page
    response = client.post(
        reverse("console:contract-new"), contract_post(partner=str(world.operator.pk))
    )
    assert response.status_code == 302
    c = Contract.objects.get(partner=world.operator)
    assert (c.start_month, c.end_month) == (dt.date(2026, 1, 1), dt.date(2027, 12, 1))
    assert str(c.ac_share_percent) == "35.00" and str(c.dc_share_percent) == "25.50"
    assert (c.session_fee_ac_minor, c.session_fee_dc_minor) == (10, 50)
    assert (c.platform_fee_charge_point_minor, c.platform_fee_dc_evse_minor) == (990, 500)
    assert c.deduct_electricity and c.reimburse_electricity and c.allow_start_stop
    assert c.can_manage_tariffs and not c.allow_reset and c.created_by == world.manager


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ac_share_percent": "120"}, "ac_share_percent", "between 0 and 100"),
        ({"end_month": "2025-06"}, "end_month", "before the start month"),
        ({"deduct_electricity": None}, "reimburse_electricity", "only when it is deducted"),
        ({"start_month": "2026-13"}, "start_month", "YYYY-MM"),
        ({"session_fee_ac": "0.001"}, "session_fee_ac", "decimal places"),
    ],
)
def test_contract_errors_are_shown_at_their_field(as_user, world, site, overrides, field, message):
    from partnerhub.settlements.models import Contract

    client = as_user(world.program_admin)
    response = client.post(
        reverse("console:contract-new"), contract_post(partner=str(world.operator.pk), **overrides)
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert f'id="id_{field}"' in text(response)
    assert not Contract.objects.filter(partner=world.operator).exists()


def test_overlapping_contract_is_refused(as_user, world, site):
    response = as_user(world.program_admin).post(
        reverse("console:contract-new"), contract_post(partner=str(world.partner_a.pk))
    )
    assert response.status_code == 400
    assert "Overlaps the partner's contract" in " ".join(
        response.context["form"].errors["start_month"]
    )


def test_contract_edit_keeps_and_changes_terms(as_user, world, site):
    client = as_user(world.manager)
    url = reverse("console:contract-edit", args=[site.contract_a.pk])
    form = text(client.get(url))
    assert 'value="2025-01"' in form and 'value="50.00"' in form
    data = contract_post(
        name="Alpha 2", start_month="2025-01", end_month="2099-12", ac_share_percent="55"
    )
    assert client.post(url, data).status_code == 302
    site.contract_a.refresh_from_db()
    assert site.contract_a.name == "Alpha 2" and str(site.contract_a.ac_share_percent) == "55.00"


def test_only_contract_staff_change_contracts(as_user, world, site):
    for user in (world.finance, world.viewer):
        client = as_user(user)
        assert client.get(reverse("console:contract-new")).status_code == 403
        url = reverse("console:contract-edit", args=[site.contract_a.pk])
        assert client.post(url, contract_post(name="x")).status_code == 403
    site.contract_a.refresh_from_db()
    assert site.contract_a.name == "Alpha site contract"


# --- runs --------------------------------------------------------------------------------------


def test_finance_starts_a_run_and_sees_it_finish(
    as_user, world, site, django_capture_on_commit_callbacks
):
    from partnerhub.settlements.models import SettlementRun, Statement

    make_session(site.e_ac, dt.datetime.combine(last_month(), dt.time(9), tzinfo=dt.UTC))
    client = as_user(world.finance)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("console:settlement-runs"), {"month": f"{last_month():%Y-%m}"}
        )
    run = SettlementRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:settlement-run", args=[run.pk])
    page = text(client.get(response["Location"]))
    assert "Succeeded" in page and 'hx-trigger="every 2s"' not in page
    assert "Finalise 2 drafts" in page  # A and B
    assert Statement.objects.filter(month=last_month(), status="draft").count() == 2


def test_a_queued_run_polls_and_shows_its_status_without_javascript(as_user, world, site):
    from partnerhub.settlements import services

    run = services.settlement_run_create(month=last_month(), by=world.finance)
    client = as_user(world.viewer)
    page = text(client.get(reverse("console:settlement-run", args=[run.pk])))
    assert "Queued" in page and 'hx-trigger="every 2s"' in page
    partial = client.get(
        reverse("console:settlement-run", args=[run.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="run-status",
    )
    assert text(partial).lstrip().startswith('<section class="card" id="run-status"')


def test_bad_run_month_is_shown_at_the_field(as_user, world, site):
    response = as_user(world.finance).post(reverse("console:settlement-runs"), {"month": "2026-1"})
    assert response.status_code == 400
    assert "YYYY-MM" in " ".join(response.context["form"].errors["month"])


def test_only_finance_and_admins_start_runs(as_user, world, site):
    from partnerhub.settlements.models import SettlementRun

    for user in (world.manager, world.viewer):
        response = as_user(user).post(reverse("console:settlement-runs"), {"month": "2026-01"})
        assert response.status_code == 403
        assert "Start the run" not in text(as_user(user).get(reverse("console:settlement-runs")))
    assert not SettlementRun.objects.exists()


# --- statements --------------------------------------------------------------------------------


def test_statements_filter_by_month_partner_and_status(as_user, world, statements):
    client = as_user(world.program_admin)
    url = reverse("console:settlement-statements")
    page = text(client.get(url, {"month": f"{last_month():%Y-%m}"}))
    assert "2 statements" in page
    # This month's drafts: A's, and B's (its contract is in force, with no session yet).
    page = text(client.get(url, {"status": "draft"}))
    assert "2 statements" in page and page.count(f"Draft {this_month():%Y-%m}") == 2
    page = text(client.get(url, {"partner": world.partner_b.pk, "status": "final"}))
    assert "1 statement" in page and statements.b_last.number in page
    assert statements.a_last.number not in page
    partial = client.get(
        url, {"status": "final"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="statement-results"
    )
    assert text(partial).lstrip().startswith('<div id="statement-results">')


def test_statement_detail_traces_lines_to_sessions(as_user, world, statements):
    page = text(
        as_user(world.finance).get(
            reverse("console:settlement-statement", args=[statements.a_last.pk])
        )
    )
    assert "Revenue share (AC)" in page and "31.00 EUR" in page
    assert page.count("CDR-P-") == 3
    assert "Record a payment" in page and "Finalise…" not in page


def test_finance_records_a_payment_and_the_balance_falls(as_user, world, statements):
    client = as_user(world.finance)
    st = statements.a_last
    url = reverse("console:settlement-payment", args=[st.pk])
    response = client.post(
        url, {"direction": "made", "paid_on": "2026-02-03", "amount": "20.00", "note": "SEPA"}
    )
    assert response.status_code == 302
    page = text(client.get(reverse("console:settlement-statement", args=[st.pk])))
    assert "11.00 EUR still to be paid to the partner" in page and "SEPA" in page
    assert "Net: payable to the partner" in page and "Partner share" in page
    assert "Your share" not in page and "payable to you" not in page
    response = client.post(url, {"direction": "made", "paid_on": "2026-02-03", "amount": "0"})
    assert response.status_code == 400
    assert "must be positive" in " ".join(response.context["payment_form"].errors["amount"])
    assert st.payments.count() == 1


@pytest.mark.parametrize("amount", ["1e30", "1E+40"])
def test_a_huge_payment_amount_is_shown_at_the_field(as_user, world, statements, amount):
    st = statements.a_last
    response = as_user(world.finance).post(
        reverse("console:settlement-payment", args=[st.pk]),
        {"direction": "made", "paid_on": "2026-02-03", "amount": amount},
    )
    assert response.status_code == 400
    assert "too large" in " ".join(response.context["payment_form"].errors["amount"])
    assert not st.payments.exists()


def test_payments_only_against_final_statements_by_finance(as_user, world, statements):
    body = {"direction": "made", "paid_on": "2026-02-03", "amount": "1.00"}
    draft = statements.a_now
    response = as_user(world.finance).post(
        reverse("console:settlement-payment", args=[draft.pk]), body
    )
    assert response.status_code == 400
    assert "final statement" in text(response)
    response = as_user(world.manager).post(
        reverse("console:settlement-payment", args=[statements.a_last.pk]), body
    )
    assert response.status_code == 403
    assert not statements.a_last.payments.exists() and not draft.payments.exists()


def month_before_last_drafts(site) -> dt.date:
    """Drafts of A and B for the month before last (over, not yet finalised)."""
    from partnerhub.settlements import services

    month = (last_month() - dt.timedelta(days=1)).replace(day=1)
    day = dt.datetime.combine(month + dt.timedelta(days=4), dt.time(9), tzinfo=dt.UTC)
    make_session(site.e_ac, day, excl_minor=1500)
    make_session(site.e_fr, day, excl_minor=900)
    services.settlement_run(month=month)
    return month


def test_the_running_month_is_not_finalised(as_user, world, statements):
    client = as_user(world.finance)
    draft = statements.a_now
    url = reverse("console:settlement-statement-finalise", args=[draft.pk])
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "is not over: its statements can be finalised from 1 " in text(response)
    draft.refresh_from_db()
    assert not draft.is_final
    response = client.post(
        reverse("console:settlement-month-finalise"),
        {"month": f"{this_month():%Y-%m}", "confirm": "on"},
        follow=True,
    )
    page = text(response)
    assert "is not over: its statements can be finalised from 1 " in page
    assert "Finalise all drafts…" not in page and "they can be finalised from 1 " in page
    assert not type(draft).objects.filter(status="final", month=this_month()).exists()
    page = text(client.get(reverse("console:settlement-statement", args=[draft.pk])))
    assert "Finalise…" not in page and "it can be finalised from 1 " in page


def test_the_statement_list_points_to_drafts_waiting_without_a_filter(
    as_user, world, site, statements
):
    client = as_user(world.finance)
    url = reverse("console:settlement-statements")
    assert "wait for finalisation" not in text(client.get(url))  # only the running month's
    month = month_before_last_drafts(site)
    page = text(client.get(url))
    assert f"2 drafts of {month:%Y-%m} wait for finalisation." in page
    link = f"{reverse('console:settlement-month-finalise')}?month={month:%Y-%m}"
    assert link in client.get(url).content.decode()


def test_finalising_a_statement_asks_for_confirmation(as_user, world, site, statements):
    from partnerhub.settlements.models import Statement

    client = as_user(world.finance)
    month = month_before_last_drafts(site)
    draft = Statement.objects.get(partner=world.partner_a, month=month)
    url = reverse("console:settlement-statement-finalise", args=[draft.pk])
    assert "Yes, finalise" in text(client.get(url))
    response = client.post(url, {})
    assert response.status_code == 400 and "Tick the box" in text(response)
    draft.refresh_from_db()
    assert not draft.is_final
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_final and draft.number.startswith(f"ST-{month.year}-")
    assert as_user(world.manager).get(url).status_code == 403


def test_finalising_every_draft_of_a_month(
    as_user, world, site, statements, django_capture_on_commit_callbacks
):
    from partnerhub.settlements.models import SettlementRun, Statement

    client = as_user(world.program_admin)
    url = reverse("console:settlement-month-finalise")
    day = month_before_last_drafts(site)
    month = f"{day:%Y-%m}"
    page = text(client.get(url, {"month": month}))
    assert "2 draft statements will be numbered" in page  # A's and B's
    computed = SettlementRun.objects.filter(month=day).latest("id")
    assert f"They are finalised as they are now: computed by run #{computed.pk} at " in page
    drafts = {
        pk: figures
        for pk, *figures in Statement.objects.filter(status="draft", month=day).values_list(
            "pk", "net_minor", "sessions"
        )
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"month": month, "confirm": "on"})
    # Queued as a run that finalises the drafts as they are (at scale it takes minutes).
    run = SettlementRun.objects.latest("id")
    assert (run.recompute, run.finalise, run.status) == (False, True, "succeeded")
    assert response.status_code == 302 and response.url == reverse(
        "console:settlement-run", args=[run.pk]
    )
    assert not Statement.objects.filter(status="draft", month=day).exists()
    assert run.finalised == 2
    assert {
        pk: [net, n]
        for pk, net, n in Statement.objects.filter(pk__in=drafts).values_list(
            "pk", "net_minor", "sessions"
        )
    } == drafts  # not recomputed
    page = text(client.get(response.url))
    assert "finalises the month's drafts as they are" in page.lower()


def test_session_list_filters(as_user, world, site, statements):
    make_session(
        site.e_dc,
        dt.datetime.combine(last_month(), dt.time(12), tzinfo=dt.UTC),
        flagged=True,
    )
    client = as_user(world.program_admin)
    url = reverse("console:settlement-sessions")
    assert "6 sessions" in text(client.get(url))
    page = text(client.get(url, {"flagged": "yes"}))
    assert "1 session" in page and "energy above the EVSE" in page
    page = text(client.get(url, {"partner": world.partner_b.pk, "month": f"{last_month():%Y-%m}"}))
    assert "1 session" in page and "CP-FR" in page


@pytest.mark.parametrize(
    ("name", "grow"),
    [("console:settlement-statements", "statements"), ("console:settlement-sessions", "sessions")],
)
def test_list_pages_take_a_fixed_number_of_queries(
    as_user, world, site, statements, django_assert_max_num_queries, name, grow
):
    from partnerhub.settlements import services

    client = as_user(world.program_admin)
    with django_assert_max_num_queries(30) as small:
        client.get(reverse(name))
    for i in range(12):
        start = dt.datetime.combine(last_month(), dt.time(8), tzinfo=dt.UTC)
        make_session(site.e_fr, start - dt.timedelta(days=31 * (i + 1)))
    if grow == "statements":
        for i in range(1, 4):
            month = (last_month() - dt.timedelta(days=31 * i)).replace(day=1)
            services.settlement_run(month=month)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse(name)).status_code == 200
