"""Forms of the vendor console. They only parse input: every rule is checked by the services,
whose ``ServiceError`` / ``Conflict`` messages the views attach to the field they name."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_names

from partnerhub.partners.models import PartnerStatus

MAX_PROGRAM_BYTES = 1024 * 1024


class PartnerFilterForm(forms.Form):
    """The partners list's filters (GET). Choices are filled in by the view."""

    q = forms.CharField(
        label=_("Name, legal name or website"), required=False, max_length=200, strip=True
    )
    track = forms.ChoiceField(label=_("Track"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *PartnerStatus.choices],
    )
    manager = forms.TypedChoiceField(
        label=_("Partner manager"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, tracks, countries, managers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].choices = [("", _("Any track"))] + [
            (f"{t.program_key}:{t.track_key}", t.label) for t in tracks
        ]
        self.fields["tier"].choices = [("", _("Any tier"))] + [
            (t.label, [(f"{t.program_key}:{t.track_key}:{k}", name) for k, name in t.tiers])
            for t in tracks
        ]
        self.fields["country"].choices = [("", _("Any country"))] + sorted(
            ((code, f"{country_names.name(code) or code} ({code})") for code in countries),
            key=lambda choice: choice[1],
        )
        self.fields["manager"].choices = [("", _("Anyone"))] + [
            (str(u.pk), u.get_full_name() or u.email) for u in managers
        ]


class OverrideForm(forms.Form):
    tier = forms.ChoiceField(label=_("Track and tier"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    expires_on = forms.DateField(
        label=_("Expires on"),
        help_text=_("The override applies from the next evaluation through this day."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = choices

    def target(self) -> tuple[str, str, str]:
        program, track, tier = (self.cleaned_data["tier"].split(":") + ["", "", ""])[:3]
        return program, track, tier


class ApproveForm(forms.Form):
    override_reason = forms.CharField(
        label=_("Override reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required: an earlier active registration of this customer has priority."),
    )

    def __init__(self, *args, priority: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not priority:
            # Browsers ask for it; the service refuses the approval without it anyway.
            self.fields["override_reason"].widget.attrs["required"] = True


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for rejecting"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("refuse", _("Refuse"))],
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(
        label=_("Reason (required to refuse)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ProgramUploadForm(forms.Form):
    source = forms.CharField(
        label=_("Program YAML"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        help_text=_("Paste the program file, or choose it below."),
    )
    file = forms.FileField(label=_("…or upload a file"), required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        source = data.get("source") or ""
        if upload:
            if upload.size > MAX_PROGRAM_BYTES:
                raise forms.ValidationError(_("The file is larger than 1 MiB."))
            try:
                source = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        source = source.replace("\r\n", "\n").replace("\r", "\n")
        if not source.strip():
            raise forms.ValidationError(_("Paste a program or choose a file."))
        if len(source.encode()) > MAX_PROGRAM_BYTES:
            raise forms.ValidationError(_("The program is larger than 1 MiB."))
        data["source"] = source
        return data


class ProgramActivateForm(forms.Form):
    source = forms.CharField(strip=False, widget=forms.HiddenInput, max_length=MAX_PROGRAM_BYTES)

    def clean_source(self):
        return self.cleaned_data["source"].replace("\r\n", "\n").replace("\r", "\n")


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(label=_("Object type"), required=False)
    actor = forms.EmailField(label=_("Changed by (e-mail)"), required=False)

    def __init__(self, *args, models, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", _("Any type")), *models]
