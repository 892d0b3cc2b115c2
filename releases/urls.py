from __future__ import annotations

from releases.views import files, registry, releases

urlpatterns = [*releases.urlpatterns, *files.urlpatterns, *registry.urlpatterns]
