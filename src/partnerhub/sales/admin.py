"""Back office for sales: the catalogue (through services), customers, and billing lines
read-only (they are imported, never edited)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from partnerhub.core.admin import ScopedAdmin
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor
from partnerhub.sales import services
from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory


@admin.register(ProductCategory)
class ProductCategoryAdmin(ScopedAdmin):
    list_display = ["key", "name"]
    search_fields = ["key", "name"]


class ProductForm(forms.ModelForm):
    """Shows and takes the list price as a decimal amount, not minor units."""

    list_price = forms.DecimalField(
        max_digits=18, decimal_places=3, min_value=0, help_text="In the product's currency."
    )

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "category",
            "list_price",
            "currency",
            "required_certification",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["list_price"].initial = from_minor(
                self.instance.list_price_minor, self.instance.currency
            )

    def clean(self):
        cleaned = super().clean()
        price, currency = cleaned.get("list_price"), cleaned.get("currency")
        if price is not None and currency:
            try:
                services.parse_currency(currency)
                cleaned["list_price_minor"] = services.parse_amount(
                    str(price), currency, what="list price", allow_negative=False
                )
            except services.RowInvalid as exc:
                raise ValidationError(str(exc)) from None
        return cleaned


@admin.register(Product)
class ProductAdmin(ScopedAdmin):
    form = ProductForm
    list_display = ["sku", "name", "category", "price", "required_certification", "is_active"]
    list_filter = ["category", "is_active", "currency"]
    search_fields = ["sku", "name"]
    raw_id_fields = ["required_certification"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="list price")
    def price(self, obj):
        return f"{from_minor(obj.list_price_minor, obj.currency)} {obj.currency}"

    def save_model(self, request, obj, form, change):
        data = {
            "sku": form.cleaned_data["sku"],
            "name": form.cleaned_data["name"],
            "category": form.cleaned_data["category"].key,
            "list_price": str(form.cleaned_data["list_price"]),
            "currency": form.cleaned_data["currency"],
            "required_certification": (
                form.cleaned_data["required_certification"].key
                if form.cleaned_data.get("required_certification")
                else None
            ),
            "is_active": form.cleaned_data["is_active"],
        }
        try:
            if change:
                saved = services.product_update(actor=request.user, product=obj, data=data)
            else:
                saved = services.product_create(actor=request.user, **data)
        except (ValidationError, ServiceError) as exc:
            raise ValidationError(getattr(exc, "message", None) or exc.messages) from None
        obj.pk = saved.pk


@admin.register(Customer)
class CustomerAdmin(ScopedAdmin):
    list_display = ["name", "external_id", "country", "activated_on"]
    list_filter = ["country"]
    search_fields = ["name", "external_id", "website_domain"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(BillingLine)
class BillingLineAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = [
        "external_id",
        "invoice_date",
        "partner",
        "customer",
        "product",
        "quantity",
        "amount",
        "purchase_path",
        "is_renewal",
    ]
    list_filter = ["purchase_path", "is_renewal", "currency", "invoice_date", "product__category"]
    search_fields = ["external_id"]
    date_hierarchy = "invoice_date"
    list_select_related = ["partner", "customer", "product"]
    show_full_result_count = False

    @admin.display(description="net amount", ordering="net_amount_minor")
    def amount(self, obj):
        return f"{from_minor(obj.net_amount_minor, obj.currency)} {obj.currency}"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_view_permission(self, request, obj=None):
        # rules' admin falls back to the change permission, which nobody has here
        return request.user.has_perm("sales.view_billingline", obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
