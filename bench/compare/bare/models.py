from __future__ import annotations

from django.db import models


class Entry(models.Model):
    """The columns an entry has that a list page shows or filters on."""

    id = models.CharField(primary_key=True, max_length=140)
    name = models.CharField(max_length=200)
    description = models.TextField()
    kind = models.CharField(max_length=20, default="model")
    visibility = models.CharField(max_length=10, default="public")
    organisation = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        # The list's filter and order in one index: the page and its count read the index.
        indexes = [models.Index(fields=["visibility", "-updated_at"], name="bare_visible_recent")]

    def __str__(self) -> str:
        return self.name
