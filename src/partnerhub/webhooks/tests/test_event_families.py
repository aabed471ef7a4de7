"""Endpoint patterns must name an event family that exists: "nonsense.thing" was accepted and
the endpoint then never received anything. The list of families is checked against the code
that emits events, so a new family cannot be forgotten."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from partnerhub.core.errors import ServiceError
from partnerhub.webhooks.services import EVENT_FAMILIES, _clean_patterns

SRC = Path(__file__).resolve().parents[2]
# The first argument of emit(...) ("family.name" or f"family.{x}"), and the (name, partner_id,
# payload) triples given to emit_many.
EMITTED = (
    re.compile(r'emit\(\s*f?"([a-z_]+)\.'),
    re.compile(r'\(\s*"([a-z_]+)\.[a-z_]+",\s*[a-z_.]*partner_id'),
)


def emitted_families() -> set[str]:
    families = set()
    for path in SRC.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        if "emit(" not in text and "emit_many(" not in text:
            continue
        for pattern in EMITTED:
            families |= set(pattern.findall(text))
    return families


def test_every_family_the_code_emits_is_accepted():
    found = emitted_families()
    assert {"deal", "settlement", "partner", "mdf"} <= found  # the scan sees the code
    assert found == set(EVENT_FAMILIES)


@pytest.mark.parametrize("pattern", ["nonsense.thing", "deals.*", "Deal.approved"])
def test_a_pattern_that_would_never_match_is_refused(pattern):
    with pytest.raises(ServiceError) as exc:
        _clean_patterns([pattern])
    assert exc.value.field == "event_types"


def test_known_patterns_are_kept():
    assert _clean_patterns(["*", "deal.*", "settlement.finalized", "deal.*"]) == [
        "*",
        "deal.*",
        "settlement.finalized",
    ]
