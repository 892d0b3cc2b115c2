"""The registry's names and rules: which repositories and tags exist for an entry, what counts as
configured, the errors every registry call may raise.

Images live in repositories named ``<modelId>/<name>``; a deleted tag is held in
``soft_deleted/<modelId>/<name>`` until it is purged or restored. Nothing about images is stored
in our database.
"""

from __future__ import annotations

import re

from django.conf import settings

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
INDEX_TYPES = frozenset(MANIFEST_TYPES[2:])
# Repository path components and tags, as the distribution spec defines them.
NAME_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


class RegistryNotConfigured(Exception):
    """No registry in this deployment (the embedded mode): images are not available."""


class RegistryUnavailable(Exception):
    """The registry did not answer, or answered something we cannot use."""


class ManifestNotFound(Exception):
    """The registry holds no manifest under that repository and reference."""


def is_configured() -> bool:
    return bool(
        settings.REGISTRY_URL
        and settings.REGISTRY_TOKEN_KEY_FILE
        and settings.REGISTRY_TOKEN_CERT_FILE
    )


def repository_name(model_id: str, name: str) -> str:
    return f"{model_id}/{name}"


# Deleted image tags are held in ``soft_deleted/<modelId>/<name>`` until they are purged or
# restored: a repository no user is ever given a token for.
SOFT_DELETED_PREFIX = "soft_deleted"


def valid_image_name(name: str) -> bool:
    """Whether ``name`` is a repository path (components joined by ``/``) the registry accepts."""
    return bool(name) and len(name) <= 200 and all(NAME_COMPONENT.match(p) for p in name.split("/"))


def valid_tag(tag: str) -> bool:
    return bool(TAG.match(tag))
