"""The Django admin, open to members of the admin group as well as superusers."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class BailoAdminSite(admin.AdminSite):
    site_header = "Bailo administration"
    site_title = "Bailo admin"
    index_title = "Administration"

    def has_permission(self, request: HttpRequest) -> bool:
        from core.entities import is_admin

        return bool(request.user.is_active and is_admin(request.user))


class BailoAdminConfig(AdminConfig):
    default_site = "core.admin_site.BailoAdminSite"
