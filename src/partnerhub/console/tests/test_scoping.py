"""``scope_to_visible_partners``: the same rows as ``partner__in=visible_partners(user)`` for
every kind of user, without any partner subquery for the staff who read every partner."""

import pytest

from partnerhub.core.permissions import scope_to_visible_partners, visible_partners

USERS = [
    "program_admin",
    "finance",
    "viewer",
    "manager",
    "other_manager",
    "admin_a",
    "admin_b",
    "operator_admin",
    "child_1_admin",
]


@pytest.mark.parametrize("who", USERS)
def test_same_rows_as_visible_partners(world, register, who):
    from partnerhub.deals.models import DealRegistration

    for partner in (world.partner_a, world.partner_b, world.operator, world.child_1):
        register(partner, name=f"Customer of {partner.display_name} Logistics")
    user = getattr(world, who)
    expected = set(
        DealRegistration.objects.filter(partner__in=visible_partners(user)).values_list(
            "pk", flat=True
        )
    )
    scoped = scope_to_visible_partners(DealRegistration.objects.all(), user)
    assert set(scoped.values_list("pk", flat=True)) == expected
    sql = str(scoped.query)
    if who in ("program_admin", "finance", "viewer"):
        assert "partners_partner" not in sql and len(expected) == 4
    else:
        assert "partners_partner" in sql and len(expected) < 4


def test_review_queue_of_a_program_admin_has_no_partner_subquery(world, register):
    from partnerhub.console import selectors

    register(world.partner_a)
    admin_sql = str(selectors.review_queue(fetched_by=world.program_admin).query)
    manager_sql = str(selectors.review_queue(fetched_by=world.manager).query)
    assert "partners_partner" in admin_sql  # the select_related join only
    assert "IN (SELECT" not in admin_sql
    assert "IN (SELECT" in manager_sql
