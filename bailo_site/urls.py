from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from ninja.openapi.views import openapi_json

from bailo_site.api import api, api_v3
from core import docs, views

urlpatterns: list[Any] = [
    # Browsers ask for /favicon.ico before they read the page's icon link.
    path("favicon.ico", views.favicon),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "settings/password/",
        auth_views.PasswordChangeView.as_view(success_url="/settings/password/done/"),
        name="password_change",
    ),
    path(
        "settings/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("settings/", views.settings_profile, name="settings"),
    path("docs/", docs.docs_page, name="docs"),
    re_path(r"^docs/(?P<slug>[a-z0-9/-]+)/?$", docs.docs_page, name="docs-page"),
    path(
        "api/docs",
        TemplateView.as_view(template_name="core/swagger.html"),
        name="api-docs",
    ),
    # Bailo serves its OpenAPI document here; the official client's own tests read this path.
    path("api/v2/api-docs/swagger.json", partial(openapi_json, api=api), name="api-swagger-json"),
    path("api/v2/", api.urls),
    path(
        "api/v3/api-docs/swagger.json",
        partial(openapi_json, api=api_v3),
        name="api-v3-swagger-json",
    ),
    path("api/v3/", api_v3.urls),
    path("admin/", admin.site.urls),
    path("", include("access.tokens.views")),
    path("", include("access.access_requests.urls")),
    path("", include("reviews.urls")),
    path("", include("releases.urls")),
    path("", include("webhooks.urls")),
    path("", include("inference.urls")),
    path("", include("mirroring.urls")),
    path("", include("deletion.urls")),
    path("", include("models_app.urls")),
    # Unknown API paths answer JSON in Bailo's error shape, whatever DEBUG says. Last, so every
    # app's API routes (such as /api/v1/registry_auth) come first.
    re_path(r"^api/", views.not_found),
    # Every other unknown URL gets the site's own 404 page even with DEBUG on (Django would show
    # its technical page, listing every route); it also adds a missing trailing slash. Views that
    # raise Http404 keep Django's handling.
    re_path(r"^", views.unknown_url),
]

if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "core.views.bad_request"
handler403 = "core.views.forbidden"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
