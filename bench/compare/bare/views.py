"""A paginated list page and a JSON list: Django's own ``Paginator``, nothing more."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from bench.compare.bare.models import Entry


def _page(request: HttpRequest, size: int):  # type: ignore[no-untyped-def]
    # _default_manager: mypy checks with the app's settings, where this app is not installed.
    entries = Entry._default_manager.filter(visibility="public").order_by("-updated_at")
    return Paginator(entries, size).get_page(request.GET.get("page"))


def entry_list(request: HttpRequest) -> HttpResponse:
    return render(request, "bare/list.html", {"page": _page(request, 20)})


def entry_list_json(request: HttpRequest) -> JsonResponse:
    page = _page(request, 100)
    return JsonResponse(
        {
            "models": [
                {
                    "id": e.id,
                    "name": e.name,
                    "description": e.description,
                    "kind": e.kind,
                    "organisation": e.organisation,
                    "state": e.state,
                    "createdAt": e.created_at.isoformat(),
                    "updatedAt": e.updated_at.isoformat(),
                }
                for e in page
            ],
            "totalEntries": page.paginator.count,
            "page": page.number,
        }
    )
