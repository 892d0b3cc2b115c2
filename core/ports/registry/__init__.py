"""The registry port: ``naming`` (repositories, tags, errors), ``tokens`` (the JWTs the registry
trusts) and ``client`` (the HTTP adapter). Callers use the names below as ``registry.<name>``."""

from core.ports.registry.client import (
    delete_manifest,
    get_manifest_bytes,
    get_tag,
    list_images,
    manifest_digest,
    mount_blob,
    ping,
    put_manifest,
    repository_tags,
    tag_exists,
)
from core.ports.registry.naming import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    SOFT_DELETED_PREFIX,
    ManifestNotFound,
    RegistryNotConfigured,
    RegistryUnavailable,
    is_configured,
    repository_name,
    valid_image_name,
    valid_tag,
)
from core.ports.registry.tokens import (
    IssuedToken,
    admin_token,
    issue,
    issue_token,
    libtrust_kid,
    token_lifetime_seconds,
)

__all__ = [
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "SOFT_DELETED_PREFIX",
    "IssuedToken",
    "ManifestNotFound",
    "RegistryNotConfigured",
    "RegistryUnavailable",
    "admin_token",
    "delete_manifest",
    "get_manifest_bytes",
    "get_tag",
    "is_configured",
    "issue",
    "issue_token",
    "libtrust_kid",
    "list_images",
    "manifest_digest",
    "mount_blob",
    "ping",
    "put_manifest",
    "repository_name",
    "repository_tags",
    "tag_exists",
    "token_lifetime_seconds",
    "valid_image_name",
    "valid_tag",
]
