"""The Django admin, open to members of the admin group as well as superusers.

There is one sign-in page: the admin's own (which would want a "staff" account) sends signed-out
visitors to the site's sign-in with ``next`` set, so an administrator comes back to the page they
asked for; a signed-in person who is not an administrator is refused (403) instead of being sent
round in a loop.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


class BailoAdminSite(admin.AdminSite):
    site_header = "Bailo administration"
    site_title = "Bailo admin"
    index_title = "Administration"

    def has_permission(self, request: HttpRequest) -> bool:
        from core.entities import is_admin

        return bool(request.user.is_active and is_admin(request.user))

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Imported here: this module is loaded with the app registry, before the models.
        from django.contrib.auth.views import redirect_to_login

        wanted = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            wanted = ""
        wanted = wanted or reverse("admin:index")
        if not request.user.is_authenticated:
            return redirect_to_login(wanted, settings.LOGIN_URL)
        if self.has_permission(request):
            return redirect(wanted)
        raise PermissionDenied("The administration pages are for administrators only.")


class BailoAdminConfig(AdminConfig):
    default_site = "core.admin_site.BailoAdminSite"
