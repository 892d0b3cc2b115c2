"""Access request pages and "My access", included at the site root by bailo_site/urls.py."""

from __future__ import annotations

from access.access_requests.views import urlpatterns

__all__ = ["urlpatterns"]
