"""Webhooks: an entry's owners ask to be told, over HTTP, when things happen to it."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
