from __future__ import annotations

from django.urls import path

from models_app import views

urlpatterns = [
    path("", views.marketplace, name="home"),
]
