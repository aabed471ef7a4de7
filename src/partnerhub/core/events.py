"""Domain events: ``emit`` writes an outbox row inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from partnerhub.core.models import Event


def emit(name: str, *, partner=None, payload: dict[str, Any] | None = None) -> Event:
    import json

    clean = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    return Event.objects.create(name=name, partner=partner, payload=clean)


def emit_many(events: list[tuple[str, Any, dict[str, Any]]]) -> None:
    """Bulk form for set-based callers: (name, partner_id, payload) triples."""
    import json

    Event.objects.bulk_create(
        Event(
            name=name,
            partner_id=partner_id,
            payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
        )
        for name, partner_id, payload in events
    )
