"""The signature a receiver checks: ``X-PartnerHub-Signature: t=<unix time>,v1=<hex>`` where
``hex = HMAC-SHA256(secret, "<unix time>." + raw body)``. Receivers recompute it, compare in
constant time and refuse times older than a few minutes (replays)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: int) -> bool:
    """What a receiver does (used by the tests and shown in docs/webhooks.md)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(
        sign(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}"
    )
