"""Mirroring pages, included at the site root by bailo_site/urls.py (before the entry pages)."""

from __future__ import annotations

from mirroring.views import urlpatterns

__all__ = ["urlpatterns"]
