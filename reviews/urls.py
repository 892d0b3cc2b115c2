"""Review pages, included at the site root by bailo_site/urls.py."""

from __future__ import annotations

from reviews.views import urlpatterns

__all__ = ["urlpatterns"]
