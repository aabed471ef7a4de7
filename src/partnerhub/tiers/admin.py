from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from partnerhub.core.admin import ReadOnlyMixin, ScopedAdmin
from partnerhub.core.errors import ServiceError
from partnerhub.tiers import services
from partnerhub.tiers.models import (
    EvaluationRun,
    EvidenceItem,
    Nomination,
    PartnerTier,
    SurveyResponse,
    TierChange,
    TierOverride,
)


def _requirement_rows(requirements, depth=0):
    rows = []
    for req in requirements:
        pad = "\u00a0" * 4 * depth
        if req["kind"] == "any":
            rows.append(
                (pad + req["label"], "", "", "yes" if req["met"] else f"{req['missing']} more", "")
            )
            rows += _requirement_rows(req["items"], depth + 1)
        else:
            rows.append(
                (
                    pad + req["label"],
                    req["value"],
                    req["threshold"],
                    "yes" if req["met"] else f"missing {req['gap']}",
                    req["met_on"] or "",
                )
            )
    return rows


@admin.register(PartnerTier)
class PartnerTierAdmin(ReadOnlyMixin, ScopedAdmin):
    partner_field = "partner"
    list_display = ["partner", "program", "track_key", "tier_key", "since", "held_until", "source"]
    list_filter = ["program", "track_key", "tier_key", "source"]
    search_fields = ["partner__display_name"]
    readonly_fields = [
        "partner",
        "program",
        "track_key",
        "tier_key",
        "rank",
        "since",
        "held_until",
        "source",
        "last_evaluated_on",
        "explanation",
    ]

    @admin.display(description="Where the partner stands today")
    def explanation(self, obj):
        from partnerhub.tiers.selectors import explain

        tables = []
        for track in explain(partner=obj.partner):
            if track.program != obj.program.key or track.track != obj.track_key:
                continue
            for tier in (track.current, track.next):
                if tier is None:
                    continue
                body = format_html_join(
                    "",
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    _requirement_rows(tier.requirements),
                )
                tables.append(
                    format_html(
                        "<h4>{} ({})</h4><table><thead><tr><th>Requirement</th><th>Value</th>"
                        "<th>Threshold</th><th>Met</th><th>Met on</th></tr></thead>"
                        "<tbody>{}</tbody></table>",
                        tier.tier_name,
                        "all met" if tier.met else "not yet met",
                        body,
                    )
                )
        return format_html_join("", "{}", ((t,) for t in tables)) or "No requirements."


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyMixin, ScopedAdmin):
    partner_field = "partner"
    list_display = [
        "partner",
        "program",
        "track_key",
        "from_tier_key",
        "to_tier_key",
        "kind",
        "effective_on",
    ]
    list_filter = ["kind", "program", "track_key"]
    search_fields = ["partner__display_name", "reason"]


@admin.register(TierOverride)
class TierOverrideAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = [
        "partner",
        "program",
        "track_key",
        "tier_key",
        "starts_on",
        "expires_on",
        "author",
        "revoked_at",
    ]
    list_filter = ["program", "track_key"]
    raw_id_fields = ["partner"]
    readonly_fields = ["author", "revoked_at", "created_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        from django.core.exceptions import ValidationError

        if change:
            raise ValidationError("Overrides are not edited: revoke this one and create a new one.")
        try:
            saved = services.tier_override_create(
                actor=request.user,
                partner=obj.partner,
                program=obj.program,
                track_key=obj.track_key,
                tier_key=obj.tier_key,
                reason=obj.reason,
                expires_on=obj.expires_on,
                starts_on=obj.starts_on,
            )
        except ServiceError as exc:
            raise ValidationError(exc.message) from None
        obj.pk = saved.pk

    @admin.action(description="Revoke selected overrides")
    def revoke(self, request, queryset):
        for override in queryset:
            try:
                services.tier_override_revoke(override=override)
            except ServiceError as exc:
                self.message_user(request, f"{override}: {exc.message}", messages.ERROR)


@admin.register(Nomination)
class NominationAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = [
        "partner",
        "program",
        "track_key",
        "tier_key",
        "status",
        "nominated_by",
        "decided_by",
    ]
    list_filter = ["status", "program"]
    readonly_fields = ["status", "nominated_by", "decided_by", "decided_at", "decision_reason"]
    raw_id_fields = ["partner"]
    actions = ["approve"]

    @admin.action(description="Approve selected nominations")
    def approve(self, request, queryset):
        for nomination in queryset:
            try:
                services.nomination_decide(actor=request.user, nomination=nomination, approve=True)
            except ServiceError as exc:
                self.message_user(request, f"{nomination}: {exc.message}", messages.ERROR)


@admin.register(EvidenceItem)
class EvidenceItemAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = ["partner", "item", "recorded_on", "valid_until", "recorded_by"]
    list_filter = ["item"]
    search_fields = ["partner__display_name", "item"]
    raw_id_fields = ["partner"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyMixin, ScopedAdmin):
    partner_field = "partner"
    list_display = ["external_id", "partner", "score", "responded_on"]


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["as_of", "started_at", "finished_at", "memberships", "changes", "triggered_by"]
