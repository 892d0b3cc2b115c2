from __future__ import annotations

from releases import views
from releases.files import views as file_views
from releases.images import views as image_views

urlpatterns = [*views.urlpatterns, *file_views.urlpatterns, *image_views.urlpatterns]
