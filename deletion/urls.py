"""Deletion pages, included at the site root by bailo_site/urls.py (before the entry pages)."""

from __future__ import annotations

from deletion.artefact_views import urlpatterns as artefact_urlpatterns
from deletion.views import urlpatterns

urlpatterns = [*urlpatterns, *artefact_urlpatterns]

__all__ = ["urlpatterns"]
