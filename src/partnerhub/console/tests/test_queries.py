"""Query budgets: the number of SQL queries of the list pages does not grow with the list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _add_partners(world, ev_program, start, count):
    from partnerhub.partners.models import Partner, TrackMembership

    for i in range(start, start + count):
        p = Partner.objects.create(
            legal_name=f"Extra {i}",
            display_name=f"Extra {i}",
            country="NL",
            partner_manager=world.manager if i % 2 else world.other_manager,
        )
        TrackMembership.objects.create(
            partner=p, program=ev_program, track_key="var", joined_on="2025-03-01"
        )


def test_partner_list_budget(client, world, ev_program, django_assert_max_num_queries):
    from partnerhub.tiers.services import tiers_evaluate

    client.force_login(world.program_admin)
    tiers_evaluate(as_of=timezone.localdate())
    url = reverse("console:partners")
    small = _queries(client, url)  # the 5 partners of the world
    _add_partners(world, ev_program, 0, 20)
    tiers_evaluate(as_of=timezone.localdate())
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert response.content.decode().count("Extra ") == 20


def test_home_budget(client, world, ev_program, django_assert_max_num_queries):
    from partnerhub.tiers.services import tiers_evaluate

    client.force_login(world.program_admin)
    tiers_evaluate(as_of=timezone.localdate())
    small = _queries(client, reverse("console:home"))
    _add_partners(world, ev_program, 0, 20)
    tiers_evaluate(as_of=timezone.localdate())
    with django_assert_max_num_queries(small):
        client.get(reverse("console:home"))


@pytest.mark.parametrize("user", ["program_admin", "manager"])
def test_review_queue_budget(client, world, register, user, django_assert_max_num_queries):
    from partnerhub.deals import services

    client.force_login(getattr(world, user))

    def add(start, count):
        for i in range(start, start + count):
            partner = world.partner_a if i % 2 else world.operator
            # Pairs of registrations of the same customer: the second is flagged.
            reg = register(partner, name=f"Customer Number {i // 2} Logistics")
            if i % 5 == 4:
                ext = services.registration_approve(
                    registration=reg, approved_by=world.program_admin, override_reason="test"
                )
                services.extension_request(
                    registration=ext, requested_by=world.admin_a, days=10, reason="More time"
                )

    add(0, 3)
    small = _queries(client, reverse("console:review-queue"))
    add(3, 20)
    with django_assert_max_num_queries(small):
        response = client.get(reverse("console:review-queue"))
    body = response.content.decode()
    assert body.count('<article class="card" id="reg-') == 19
    assert "flagged" in body
