"""Review pages, lifecycle review pages and the review-role administration, included at the site
root by bailo_site/urls.py."""

from __future__ import annotations

from reviews import views
from reviews.lifecycle import views as lifecycle_views
from reviews.roles import views as role_views

urlpatterns = [*views.urlpatterns, *lifecycle_views.urlpatterns, *role_views.urlpatterns]
