from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from tests.oidc_provider import views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("control/next-id-token", views.next_id_token),
    path("control/groups", views.user_groups),
    path("control/claims", views.user_claims),
    path("control/token-fault", views.token_fault),
]
