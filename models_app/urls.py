from __future__ import annotations

from models_app.views import card, entry, marketplace, schemas_admin

urlpatterns = [
    *marketplace.urlpatterns,
    *entry.urlpatterns,
    *card.urlpatterns,
    *schemas_admin.urlpatterns,
]
