"""The directory's search form: a plain GET form (works without JavaScript)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.directory.selectors import Catalogue, Place

MAX_RADIUS_KM = 20000  # about half the Earth's circumference
DISTANCE_FIELDS = ("lat", "lon", "radius")


class DirectorySearchForm(forms.Form):
    track = forms.ChoiceField(label=_("Partner type"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    specialisation = forms.ChoiceField(label=_("Specialisation"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    lat = forms.FloatField(
        label=_("Latitude"),
        required=False,
        min_value=-90,
        max_value=90,
        help_text=_("Decimal degrees, e.g. 52.52"),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lon = forms.FloatField(
        label=_("Longitude"),
        required=False,
        min_value=-180,
        max_value=180,
        help_text=_("Decimal degrees, e.g. 13.405"),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    radius = forms.FloatField(
        label=_("Within (km)"),
        required=False,
        min_value=0.1,
        max_value=MAX_RADIUS_KM,
        help_text=_("Empty: any distance, nearest first"),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def __init__(self, data, *, catalogue: Catalogue, countries: list[tuple[str, str]]):
        super().__init__(data)
        anything = [("", _("Any"))]
        self.fields["track"].choices = anything + catalogue.track_choices
        self.fields["tier"].choices = anything + catalogue.tier_choices
        self.fields["specialisation"].choices = anything + catalogue.specialisation_choices
        self.fields["country"].choices = anything + countries
        self.catalogue = catalogue

    def clean(self):
        data = super().clean()
        given = {name: bool(str(self.data.get(name, "")).strip()) for name in DISTANCE_FIELDS}
        if given["lat"] != given["lon"]:
            self.add_error("lon" if given["lat"] else "lat", _("Give both latitude and longitude."))
        elif given["radius"] and not given["lat"]:
            self.add_error("radius", _("Give the place (latitude and longitude) to search around."))
        return data

    def _cleaned(self) -> dict:
        self.is_valid()  # the form is always bound (to request.GET); errors are shown
        return self.cleaned_data

    def filters(self) -> dict:
        """The valid filters (a field with an error is left out; the page shows the error)."""
        data = self._cleaned()
        return {
            "track": data.get("track") or "",
            "tier": data.get("tier") or "",
            "specialisation": self.catalogue.competency(data.get("specialisation") or ""),
            "country": data.get("country") or "",
        }

    def place(self) -> Place | None:
        """Where to measure from, or None (no place given, or a distance field is invalid)."""
        data = self._cleaned()
        if any(name in self.errors for name in DISTANCE_FIELDS):
            return None
        if data.get("lat") is None or data.get("lon") is None:
            return None
        return Place(latitude=data["lat"], longitude=data["lon"], radius_km=data.get("radius"))
