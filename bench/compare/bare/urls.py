from django.urls import path

from bench.compare.bare import views

urlpatterns = [
    path("", views.entry_list),
    path("api/list", views.entry_list_json),
]
