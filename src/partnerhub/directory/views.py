"""The public partner directory (/partners/): no login, active partners that opted in."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_safe

from partnerhub.directory import selectors
from partnerhub.directory.forms import DirectorySearchForm


@require_safe
def partner_list(request):
    """Search listed partners by track, tier, specialisation, country and distance (GET form)."""
    cat = selectors.catalogue()
    form = DirectorySearchForm(request.GET, catalogue=cat, countries=selectors.listed_countries())
    place = form.place()
    qs = selectors.directory_filter(**form.filters())
    page, listings = selectors.directory_page(
        qs, page=request.GET.get("page"), cat=cat, place=place
    )
    return render(
        request,
        "directory/list.html",
        {"form": form, "page": page, "listings": listings, "place": place},
    )


@require_safe
def partner_detail(request, partner_id: int):
    """A listed partner's public profile (404 when not listed or not active)."""
    cat = selectors.catalogue()
    form = DirectorySearchForm(request.GET, catalogue=cat, countries=[])
    place = form.place()
    listing = selectors.directory_entry(partner_id=partner_id, cat=cat, place=place)
    return render(request, "directory/detail.html", {"listing": listing, "place": place})
