"""Forms of the partner portal. They only shape what the browser sends; the rules live in the
app services, whose errors (``ServiceError.field``) are put back at their field here."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from partnerhub.accounts.models import PartnerRole
from partnerhub.deals.services import MAX_ATTACHMENTS, MAX_EXTENSION_DAYS, MAX_PRODUCTS

# Labels of the model choices, translatable (the model enums are not).
SOURCE_CHOICES = [
    ("partner_sourced", _("Partner-sourced")),
    ("partner_influenced", _("Partner-influenced")),
    ("referral", _("Referral")),
]
STATUS_LABELS = {
    "draft": _("Draft"),
    "submitted": _("Submitted"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "won": _("Closed-won"),
    "lost": _("Closed-lost"),
    "expired": _("Expired"),
}
STATUS_ORDER = list(STATUS_LABELS)
EXTENSION_LABELS = {
    "pending": _("Pending"),
    "approved": _("Approved"),
    "rejected": _("Refused"),
}
ROLE_CHOICES = [
    (PartnerRole.ADMIN, _("Partner admin")),
    (PartnerRole.SALES, _("Sales")),
    (PartnerRole.TECHNICAL, _("Technical")),
    (PartnerRole.BILLING, _("Billing")),
]
ROLE_LABELS = dict(ROLE_CHOICES)
# Where a matched field of a conflict is named for a partner (never the other's values).
MATCH_FIELD_LABELS = {
    "name": _("customer name"),
    "name_vs_domain": _("customer name and website"),
    "domain": _("website"),
    "domain_vs_email": _("website and contact e-mail domain"),
    "email_domain": _("contact e-mail domain"),
    "country": _("country"),
}


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *STATUS_LABELS.items()],
    )


class RegistrationForm(forms.Form):
    """The opportunity itself (products come in ``ProductFormSet``). Field names are those of
    the API's ``RegistrationIn`` so service errors land on the right input."""

    program = forms.ChoiceField(label=_("Program"), required=False)
    customer_name = forms.CharField(label=_("Customer name"), max_length=200)
    customer_website = forms.CharField(
        label=_("Website"),
        max_length=253,
        required=False,
        help_text=_("For example acme.com."),
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off"}),
    )
    customer_country = forms.ChoiceField(label=_("Country"))
    customer_address = forms.CharField(
        label=_("Address"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=200, required=False)
    contact_email = forms.EmailField(
        label=_("Contact e-mail"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    estimated_value = forms.DecimalField(
        label=_("Estimated value"),
        max_digits=17,
        decimal_places=4,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    currency = forms.CharField(
        label=_("Currency"),
        min_length=3,
        max_length=3,
        help_text=_("Three-letter ISO code, for example USD."),
        widget=forms.TextInput(
            attrs={"pattern": "[A-Za-z]{3}", "autocapitalize": "characters", "size": 3}
        ),
    )
    expected_close_date = forms.DateField(
        label=_("Expected close date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    source = forms.ChoiceField(label=_("Source"), choices=SOURCE_CHOICES)
    notes = forms.CharField(
        label=_("Notes"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    HINT_FIELDS = ("customer_name", "customer_website", "contact_email", "customer_country")

    def __init__(self, *args, programs: list[tuple[str, str]], hints_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_country"].choices = [("", _("Choose a country")), *countries]
        if hints_url:
            # Live conflict hints: htmx posts what is typed so far to the hint endpoint.
            for name in self.HINT_FIELDS:
                self.fields[name].widget.attrs.update(
                    {
                        "hx-post": hints_url,
                        "hx-trigger": (
                            "change"
                            if name == "customer_country"
                            else "keyup changed delay:400ms, change"
                        ),
                        "hx-target": "#conflict-hints",
                        "hx-swap": "innerHTML",
                        "hx-params": ",".join(self.HINT_FIELDS),
                        "hx-sync": "closest fieldset:replace",
                        "aria-controls": "conflict-hints",
                    }
                )
        if len(programs) > 1:
            self.fields["program"].choices = [("", _("Choose a program")), *programs]
            self.fields["program"].required = True
        else:
            del self.fields["program"]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if not data.get("program"):
            data.pop("program", None)
        return data


class ProductLineForm(forms.Form):
    product = forms.TypedChoiceField(
        label=_("Product"), coerce=int, required=False, empty_value=None
    )
    quantity = forms.DecimalField(
        label=_("Quantity"),
        required=False,
        max_digits=13,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0.001", "inputmode": "decimal"}),
    )

    def __init__(self, *args, product_choices: list[tuple], **kwargs):
        super().__init__(*args, **kwargs)
        # Choices computed once per page (one query), not once per row.
        self.fields["product"].choices = [("", _("No product")), *product_choices]


ProductFormSet = forms.formset_factory(
    ProductLineForm, extra=3, max_num=MAX_PRODUCTS, absolute_max=MAX_PRODUCTS, validate_max=True
)


def product_lines(formset) -> tuple[list[dict], list[int]]:
    """The filled rows as the services take them, and the row index of each (so an error on
    ``products.<i>`` is shown at the row the user filled)."""
    lines, rows = [], []
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None) or {}
        if data.get("product") is None:
            if data.get("quantity") is not None:
                form.add_error("product", _("Choose the product for this quantity."))
            continue
        quantity = data.get("quantity")
        lines.append({"product_id": data["product"], "quantity": quantity or Decimal(1)})
        rows.append(index)
    return lines, rows


def product_initial(products) -> list[dict]:
    return [{"product": p["product_id"], "quantity": p["quantity"]} for p in products]


class ConflictHintForm(forms.Form):
    """What the partner has typed so far (any field may be empty)."""

    customer_name = forms.CharField(max_length=200, required=False)
    customer_website = forms.CharField(max_length=253, required=False)
    contact_email = forms.CharField(max_length=254, required=False)
    customer_country = forms.CharField(max_length=2, required=False)


class CloseLostForm(forms.Form):
    reason = forms.CharField(
        label=_("Why was the opportunity lost?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ExtensionForm(forms.Form):
    days = forms.IntegerField(
        label=_("Extra days of protection"), min_value=1, max_value=MAX_EXTENSION_DAYS
    )
    reason = forms.CharField(
        label=_("Why do you need more time?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("Up to %(size)s per file; at most %(count)s files.") % {
            "size": filesizeformat(settings.PARTNERHUB_MAX_UPLOAD_BYTES),
            "count": MAX_ATTACHMENTS,
        }


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=PartnerRole.SALES)


class MemberForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
