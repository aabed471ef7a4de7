"""The partner picker of the console's forms, which scales to any number of partners.

A form gets a text box (``<name>_q``) and, under it, at most 20 partners to choose from as
radio buttons named ``<name>`` whose value is the partner's id
(``console/_partner_picker.html``). With JavaScript, typing asks the search endpoint
(``GET /console/partners/search/?field=<name>&<name>_q=<text>``, :func:`search_view`) for the
suggestions, and choosing one submits its id. Without JavaScript the form submits the text:
the page then filters by name (where it is a filter) and lists the matching partners to choose
from. Only partners the user may see (``core.permissions.visible_partners``) are ever listed
or accepted; an id the user may not see is refused like a malformed one, so existence never
leaks. The page never lists every partner: at most two queries and 20 rows, whatever their
number.

Precedence of the two inputs: the chosen id counts while the text still matches its name (the
text the suggestions were searched with, or empty); a text that does not match the chosen
partner is a new search, and the choice is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from partnerhub.core.permissions import visible_partners
from partnerhub.core.schemas import MAX_ID
from partnerhub.portal.access import staff_page

LIMIT = 20
MAX_TEXT = 200
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def _credit_line_candidates(qs):
    """Partners that may get a credit line: with a DUNS number and none yet."""
    return qs.exclude(duns="").filter(credit_line__isnull=True)


# Named restrictions of the visible partners that a picker may ask for (never a widening).
SCOPES = {"": lambda qs: qs, "credit-line": _credit_line_candidates}


def partners_in_scope(user, scope: str = ""):
    return SCOPES.get(scope, SCOPES[""])(visible_partners(user))


def search(user, text: str, scope: str = "", limit: int = LIMIT) -> list:
    """The first ``limit`` partners by name whose name contains ``text`` (case-insensitive),
    among those ``user`` may see; none for an empty text."""
    text = text.strip()[:MAX_TEXT]
    if not text:
        return []
    return list(
        partners_in_scope(user, scope)
        .filter(display_name__icontains=text)
        .order_by("display_name", "id")
        .only("id", "display_name", "duns", "partner_manager_id")[:limit]
    )


@dataclass
class Picker:
    """One picker's state on a page: what was typed, what was chosen, what to list."""

    name: str
    label: str
    text: str = ""
    partner: object | None = None  # the chosen, visible partner
    suggestions: list = field(default_factory=list)
    error: str = ""
    scope: str = ""
    any_label: str = ""  # the "no partner" choice of a filter; empty: no such choice
    help_text: str = ""

    @property
    def text_name(self) -> str:
        return f"{self.name}_q"

    @property
    def partner_id(self) -> int | None:
        return self.partner.pk if self.partner is not None else None

    @property
    def name_filter(self) -> str:
        """The text to filter by name when no partner is chosen (JavaScript off)."""
        return "" if self.partner is not None or self.error else self.text


def picker_from(
    request,
    *,
    name: str = "partner",
    label: str,
    scope: str = "",
    any_label: str = "",
    help_text: str = "",
    data=None,
) -> Picker:
    """Read the picker's two inputs from ``data`` (default: the query string)."""
    data = request.GET if data is None else data
    picker = Picker(
        name=name,
        label=label,
        text=(data.get(f"{name}_q") or "").strip()[:MAX_TEXT],
        scope=scope,
        any_label=any_label,
        help_text=help_text or _("Type part of a name and choose a partner from the list."),
    )
    raw = (data.get(name) or "").strip()
    if raw:
        partner = None
        if raw.isdigit() and 1 <= int(raw) <= MAX_ID:
            partner = (
                partners_in_scope(request.user, scope)
                .only("id", "display_name", "duns", "partner_manager_id")
                .filter(pk=int(raw))
                .first()
            )
        if partner is None:
            picker.error = _("Choose a partner from the list.")
        elif picker.text and picker.text.casefold() not in partner.display_name.casefold():
            partner = None  # a new search: the text no longer names the chosen partner
        picker.partner = partner
    if picker.text:
        picker.suggestions = search(request.user, picker.text, scope)
    if picker.partner is not None and all(p.pk != picker.partner.pk for p in picker.suggestions):
        picker.suggestions = [picker.partner, *picker.suggestions[: LIMIT - 1]]
    return picker


@staff_page
@require_GET
def search_view(request):
    """The suggestions of a picker (an htmx partial): ``field`` names the picker, its text is
    ``<field>_q``; ``scope`` one of :data:`SCOPES`; ``any`` the label of the "no partner"
    choice, if the form has one."""
    name = request.GET.get("field") or "partner"
    scope = request.GET.get("scope") or ""
    if not FIELD_NAME.match(name):
        return HttpResponseBadRequest(_("field: a form field name is expected."))
    if scope not in SCOPES:
        return HttpResponseBadRequest(_("scope: unknown partner list."))
    text = (request.GET.get(f"{name}_q") or "").strip()[:MAX_TEXT]
    picker = Picker(
        name=name,
        label="",
        text=text,
        scope=scope,
        any_label=_("Any partner") if request.GET.get("any") else "",
        suggestions=search(request.user, text, scope),
    )
    return render(request, "console/_partner_picker.html#suggestions", {"picker": picker})
