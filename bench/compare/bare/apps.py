from django.apps import AppConfig


class BareConfig(AppConfig):
    name = "bench.compare.bare"
    label = "bare"
    default_auto_field = "django.db.models.BigAutoField"
