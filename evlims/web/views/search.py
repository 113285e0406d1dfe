"""The top bar's search: a scanned barcode or typed code opens its record; anything else lists the donors,
samples, runs and preparations of the user's labs whose words contain it."""

from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.urls import reverse

from ...isolation import search
from ..forms.search import SearchForm
from .common import member_view

# Each kind of record in the lab's words, where its records open, and the list that can show them all (with
# ?q=, meaning the same as here) when that list has a search of its own.
KINDS = {
    search.DONOR: {"title": "Donors", "one": "donor", "list": "evlims:donor-list"},
    search.SAMPLE: {"title": "Samples", "one": "sample", "list": "evlims:sample-list"},
    search.RUN: {"title": "Isolation runs", "one": "isolation run", "list": None},
    search.PREPARATION: {"title": "EV preparations", "one": "EV preparation", "list": None},
}
CODE_KINDS = {
    search.SAMPLE: "Sample",
    search.ALIQUOT: "Aliquot",
    search.BOX: "Storage box",
    search.RUN: "Isolation run",
    search.PREPARATION: "EV preparation",
}


def record_url(match: search.CodeMatch) -> str:
    """The page of a record found by its code: an aliquot opens on its sample's page, at its place in the tree."""
    if match.kind == search.ALIQUOT:
        return reverse("evlims:sample-detail", args=[match.sample_id]) + f"#aliquot-{match.pk}"
    name = {
        search.SAMPLE: "evlims:sample-detail",
        search.BOX: "evlims:box-detail",
        search.RUN: "evlims:run-detail",
        search.PREPARATION: "evlims:preparation-detail",
    }[match.kind]
    return reverse(name, args=[match.pk])


def _groups(answers, term: str) -> list[dict]:
    groups = []
    for answer in answers:
        kind = KINDS[answer.kind]
        see_all = reverse(kind["list"]) + "?" + urlencode({"q": term}) if kind["list"] else None
        groups.append(
            {
                "kind": answer.kind,
                "title": kind["title"],
                "one": kind["one"],
                "count": answer.count,
                "rows": answer.rows,
                "more": answer.count > len(answer.rows),
                "see_all": see_all,
            }
        )
    return groups


def _single_exact(groups, term: str):
    """The one record the words found whose own code is ``term`` in any case (a code stored in mixed case, which
    the indexed lookup does not fold), when nothing else was found."""
    found = [(group["kind"], row) for group in groups for row in group["rows"]]
    if len(found) != 1:
        return None
    kind, row = found[0]
    code = getattr(row, "barcode", None) or getattr(row, "code", "")
    if kind == search.DONOR or code.casefold() != term.casefold():
        return None
    return search.CodeMatch(kind=kind, pk=row.pk)


@member_view
def search_page(request):
    form = SearchForm(request.GET)
    if not form.is_valid():
        return render(request, "evlims/search/results.html", {"form": form, "term": ""}, status=400)
    term = form.cleaned_data["q"]
    if not term:
        return render(request, "evlims/search/help.html", {"form": form})
    matches = search.records_with_code(request.user, term)
    if len(matches) == 1:
        return redirect(record_url(matches[0]))
    groups = [] if matches else _groups(search.text_matches(request.user, term), term)
    exact = _single_exact(groups, term)
    if exact is not None:
        return redirect(record_url(exact))
    context = {
        "form": form,
        "term": term,
        "code_matches": [
            {"label": CODE_KINDS[m.kind], "shown": m.shown, "lab": m.lab, "url": record_url(m)} for m in matches
        ],
        "groups": groups,
        "total": sum(group["count"] for group in groups),
    }
    return render(request, "evlims/search/results.html", context)
