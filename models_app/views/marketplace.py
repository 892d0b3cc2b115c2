from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


@login_required
def marketplace(request: HttpRequest) -> HttpResponse:
    return render(request, "models_app/marketplace.html", {})


urlpatterns = [path("", marketplace, name="home")]
