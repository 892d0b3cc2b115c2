"""Inference services: an entry's images deployed by an external inference service."""

from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
