"""The registry adapter: what the Docker registry holds for an entry, and the HTTP calls that
read and change it.

Listing uses ``docker-registry-client`` (catalogue and tags) with our in-process token issuer in
place of its own token fetching. Manifests are fetched with an explicit ``Accept`` header, since
the client's own ``manifest()`` asks for schema 1 only and so gets a converted manifest with a
digest that is not the real one (or a 404 for OCI images). Every call carries an internal token
(``tokens.admin_token``) and a timeout.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.cache import cache as django_cache

from core.ports.registry.naming import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    ManifestNotFound,
    RegistryNotConfigured,
    RegistryUnavailable,
    is_configured,
    repository_name,
    valid_image_name,
    valid_tag,
)
from core.ports.registry.tokens import admin_token, internal_token

log = logging.getLogger(__name__)

TIMEOUT = 10.0
CATALOGUE_PAGE = 100


class _InProcessAuthorisation:
    """Stands in for docker-registry-client's ``AuthorizationService``: instead of asking a token
    server (it would call ``<url>/v2/token`` with a made-up service name), we mint the token for
    the scope the client wants next."""

    def __init__(self) -> None:
        self.token_required = True
        self.desired_scope = ""
        self.scope = ""
        self.token = ""

    def get_new_token(self) -> None:
        self.token = admin_token(self.desired_scope)
        self.scope = self.desired_scope


def _client() -> Any:
    if not is_configured():
        raise RegistryNotConfigured("The Docker registry is not configured on this instance")
    # Imported here: the package silences every Python warning for the whole process at import,
    # so only code paths that talk to the registry pay that price.
    from docker_registry_client import DockerRegistryClient

    client = DockerRegistryClient(settings.REGISTRY_URL, api_version=2, api_timeout=TIMEOUT)
    client._base_client.auth = _InProcessAuthorisation()
    return client


def _status(exc: requests.HTTPError) -> int:
    return exc.response.status_code if exc.response is not None else 0


# --- reading --------------------------------------------------------------------------------------


@dataclass
class TagInfo:
    tag: str
    digest: str
    size: int | None
    media_type: str
    created_at: str | None = None
    platforms: list[str] | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "tag": self.tag,
            "digest": self.digest,
            "size": self.size,
            "mediaType": self.media_type,
        }
        if self.created_at:
            body["createdAt"] = self.created_at
        if self.platforms:
            body["platforms"] = self.platforms
        return body


def _catalogue_key(name: str) -> str:
    # The registry sorts its catalogue path by path: "/" sorts before every other character.
    return name.replace("/", "\x00")


def _catalogue(client: Any, model_id: str) -> list[str]:
    """Repository names under ``<model_id>/``, reading only the part of the catalogue from it.

    The catalogue is sorted (``/`` first) and ``last`` starts a page after a name, so the
    entry's repositories come first from ``last=<model_id>``, and the first other name ends them.
    """
    from requests import get

    prefix = f"{model_id}/"
    found: list[str] = []
    base = client._base_client
    last = model_id
    while True:
        base.auth.desired_scope = "registry:catalog:*"
        answer = base._http_call(
            "/v2/_catalog?n={n}&last={last}", get, n=CATALOGUE_PAGE, last=quote(last, safe="")
        )
        page = answer.get("repositories") or []
        for repo in page:
            if repo.startswith(prefix):
                found.append(repo)
            elif _catalogue_key(repo) > _catalogue_key(prefix):
                return found
        if len(page) < CATALOGUE_PAGE:
            return found
        last = page[-1]


def _repository_tags(client: Any, repository: str) -> list[str]:
    try:
        tags = client.repository(repository).tags()
    except requests.HTTPError as exc:
        if _status(exc) == 404:
            return []
        raise
    return sorted(tags or [])


def _manifest(client: Any, repository: str, reference: str) -> tuple[dict[str, Any], str, str]:
    """The manifest (any of the four current types), its real digest and its media type."""
    from requests import get

    base = client._base_client
    base.auth.desired_scope = f"repository:{repository}:pull"
    response = base._http_response(
        base.MANIFEST, get, name=repository, reference=reference, schema=", ".join(MANIFEST_TYPES)
    )
    body = response.json()
    media_type = body.get("mediaType") or response.headers.get("Content-Type", "")
    return body, response.headers.get("Docker-Content-Digest", ""), media_type


def _config_created(client: Any, repository: str, digest: str) -> str | None:
    """When the image was built, as its config records it. Configs never change, so the answer
    is cached by digest."""
    from requests import get

    cache_key = f"registry:config-created:{digest}"
    cached = django_cache.get(cache_key)
    if cached is not None:
        return cached or None
    base = client._base_client
    base.auth.desired_scope = f"repository:{repository}:pull"
    try:
        config = base._http_response(base.BLOB, get, name=repository, digest=digest).json()
    except (requests.RequestException, ValueError):
        return None
    created = config.get("created") if isinstance(config, dict) else None
    created = created if isinstance(created, str) else ""
    django_cache.set(cache_key, created, timeout=24 * 3600)
    return created or None


def _image_size(manifest: dict[str, Any]) -> int:
    parts = [manifest.get("config") or {}, *(manifest.get("layers") or [])]
    return sum(int(p.get("size") or 0) for p in parts)


def _tag_info(client: Any, repository: str, tag: str) -> TagInfo:
    manifest, digest, media_type = _manifest(client, repository, tag)
    if media_type in INDEX_TYPES or "manifests" in manifest:
        # A multi-platform image: its size is the sum of the platforms it holds.
        size = 0
        platforms = []
        for entry in manifest.get("manifests") or []:
            platform = entry.get("platform") or {}
            label = (
                "/".join(p for p in (platform.get("os"), platform.get("architecture")) if p)
                or "unknown"
            )
            if platform.get("variant"):
                label += f"/{platform['variant']}"
            platforms.append(label)
            child, _, _ = _manifest(client, repository, entry["digest"])
            size += _image_size(child)
        return TagInfo(tag, digest, size, media_type, platforms=platforms)
    config_digest = (manifest.get("config") or {}).get("digest")
    created = _config_created(client, repository, config_digest) if config_digest else None
    return TagInfo(tag, digest, _image_size(manifest), media_type, created_at=created)


def _live_tag_info(client: Any, repository: str, tag: str) -> TagInfo | None:
    """A tag's details, or None for a tag still listed after its manifest was deleted (the
    stack's S3 storage keeps listing such tags)."""
    try:
        return _tag_info(client, repository, tag)
    except requests.HTTPError as exc:
        if _status(exc) == 404:
            return None
        raise


def list_images(model_id: str) -> list[dict[str, Any]]:
    """Every image of an entry with its tags: ``[{name, tags: [TagInfo json]}]``.

    Repositories whose tags were all removed stay in the registry's catalogue; they are left out.
    """
    client = _client()
    try:
        images = []
        for repository in _catalogue(client, model_id):
            name = repository[len(model_id) + 1 :]
            tags = [
                info
                for t in _repository_tags(client, repository)
                if (info := _live_tag_info(client, repository, t)) is not None
            ]
            if tags:
                images.append({"name": name, "tags": [t.as_json() for t in tags]})
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be read: {exc}") from exc
    return sorted(images, key=lambda i: i["name"])


def get_tag(model_id: str, name: str, tag: str) -> dict[str, Any] | None:
    """One tag of one image, or None when the registry does not hold it."""
    if not (valid_image_name(name) and valid_tag(tag)):
        return None
    client = _client()
    repository = repository_name(model_id, name)
    try:
        return _tag_info(client, repository, tag).as_json()
    except requests.HTTPError as exc:
        if _status(exc) == 404:
            return None
        raise RegistryUnavailable(f"The registry could not be read: {exc}") from exc
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be read: {exc}") from exc


def tag_exists(model_id: str, name: str, tag: str) -> bool:
    """Whether ``<model_id>/<name>:<tag>`` is in the registry (for releases that name images)."""
    if not (valid_image_name(name) and valid_tag(tag)):
        return False
    client = _client()
    repository = repository_name(model_id, name)
    from requests import head

    base = client._base_client
    base.auth.desired_scope = f"repository:{repository}:pull"
    try:
        base._http_response(
            base.MANIFEST, head, name=repository, reference=tag, schema=", ".join(MANIFEST_TYPES)
        )
    except requests.HTTPError as exc:
        if _status(exc) == 404:
            return False
        raise RegistryUnavailable(f"The registry could not be read: {exc}") from exc
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be read: {exc}") from exc
    return True


def delete_manifest(repository: str, digest: str) -> bool:
    """Delete a manifest by digest (every tag pointing at it goes too). False if already gone,
    so purges can run twice."""
    client = _client()
    try:
        client.repository(repository).delete_manifest(digest)
    except requests.HTTPError as exc:
        if _status(exc) == 404:
            return False
        raise RegistryUnavailable(f"The registry refused the deletion: {exc}") from exc
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    return True


# --- moving tags (image deletion and restore) -----------------------------------------------------


def _internal_headers(*scopes: str) -> dict[str, str]:
    """An ``Authorization`` header for our own calls, granting every one of ``scopes``."""
    if not is_configured():
        raise RegistryNotConfigured("The Docker registry is not configured on this instance")
    return {"Authorization": f"Bearer {internal_token(*scopes)}"}


def _url(path: str) -> str:
    return f"{settings.REGISTRY_URL.rstrip('/')}/v2/{path}"


def get_manifest_bytes(repository: str, reference: str) -> tuple[bytes, str, str]:
    """A manifest exactly as stored: ``(bytes, content type, digest)``. The digest is the SHA-256
    of those bytes, which is what the registry names the manifest by."""
    headers = {
        **_internal_headers(f"repository:{repository}:pull"),
        "Accept": ", ".join(MANIFEST_TYPES),
    }
    try:
        response = requests.get(
            _url(f"{repository}/manifests/{reference}"), headers=headers, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    if response.status_code == 404:
        raise ManifestNotFound(f"{repository}:{reference} is not in the registry")
    if response.status_code != 200:
        raise RegistryUnavailable(
            f"The registry answered {response.status_code} for {repository}:{reference}"
        )
    body = response.content
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    return body, content_type, f"sha256:{hashlib.sha256(body).hexdigest()}"


def manifest_digest(repository: str, reference: str) -> str | None:
    """The digest a tag points at, or None when the registry does not hold it."""
    headers = {
        **_internal_headers(f"repository:{repository}:pull"),
        "Accept": ", ".join(MANIFEST_TYPES),
    }
    try:
        response = requests.head(
            _url(f"{repository}/manifests/{reference}"), headers=headers, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise RegistryUnavailable(
            f"The registry answered {response.status_code} for {repository}:{reference}"
        )
    return response.headers.get("Docker-Content-Digest") or None


def repository_tags(repository: str) -> list[str]:
    """Every tag of one repository (none when the repository does not exist)."""
    try:
        return _repository_tags(_client(), repository)
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be read: {exc}") from exc


def mount_blob(dest: str, source: str, digest: str) -> None:
    """Link a blob of ``source`` into ``dest`` without copying it (a cross-repository mount)."""
    headers = _internal_headers(f"repository:{dest}:push,pull", f"repository:{source}:pull")
    try:
        response = requests.post(
            _url(f"{dest}/blobs/uploads/"),
            params={"mount": digest, "from": source},
            headers=headers,
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    if response.status_code == 201:
        return
    if response.status_code == 202 and response.headers.get("Location"):
        # The registry opened an upload instead of mounting (it does not hold the blob under
        # ``source``): close it, it would only linger.
        location = response.headers["Location"]
        if location.startswith("/"):
            location = settings.REGISTRY_URL.rstrip("/") + location
        try:
            requests.delete(location, headers=headers, timeout=TIMEOUT)
        except requests.RequestException:
            log.warning("Could not cancel the upload the registry opened at %s", location)
    raise RegistryUnavailable(
        f"The registry did not mount blob {digest} from {source} into {dest} "
        f"(answered {response.status_code})"
    )


def put_manifest(repository: str, reference: str, body: bytes, content_type: str) -> None:
    """Store a manifest under a tag (or a digest), byte for byte."""
    headers = {
        **_internal_headers(f"repository:{repository}:push,pull"),
        "Content-Type": content_type,
    }
    try:
        response = requests.put(
            _url(f"{repository}/manifests/{reference}"),
            data=body,
            headers=headers,
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    if response.status_code != 201:
        raise RegistryUnavailable(
            f"The registry refused manifest {repository}:{reference} "
            f"({response.status_code}: {response.text[:200]})"
        )


def ping() -> str:
    """Whether the registry answers (``GET /v2/``); raises ``RegistryUnavailable`` if not. With
    token auth an anonymous ``/v2/`` is challenged: 401 means the registry is up."""
    try:
        response = requests.get(_url(""), timeout=2.0)
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry did not answer: {exc}") from exc
    if response.status_code not in {200, 401}:
        raise RegistryUnavailable(f"The registry answered {response.status_code}")
    return f"HTTP {response.status_code}"


# --- blobs (mirroring: export reads them, import pushes them) -------------------------------------

BLOB_CHUNK = 1024 * 1024


def blob_chunks(repository: str, digest: str) -> Iterator[bytes]:
    """A blob's bytes as they arrive, never held whole. Raises ``ManifestNotFound`` when the
    repository does not hold it."""
    headers = _internal_headers(f"repository:{repository}:pull")
    try:
        response = requests.get(
            _url(f"{repository}/blobs/{digest}"), headers=headers, timeout=TIMEOUT, stream=True
        )
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    if response.status_code == 404:
        response.close()
        raise ManifestNotFound(f"{repository} holds no blob {digest}")
    if response.status_code != 200:
        response.close()
        raise RegistryUnavailable(f"The registry answered {response.status_code} for {digest}")

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.iter_content(BLOB_CHUNK)
        except requests.RequestException as exc:
            raise RegistryUnavailable(f"The registry stopped sending {digest}: {exc}") from exc
        finally:
            response.close()

    return chunks()


def blob_exists(repository: str, digest: str) -> bool:
    headers = _internal_headers(f"repository:{repository}:pull")
    try:
        response = requests.head(
            _url(f"{repository}/blobs/{digest}"), headers=headers, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    return response.status_code == 200


def push_blob(repository: str, digest: str, chunks: Iterable[bytes]) -> None:
    """Upload a blob, streaming ``chunks`` in one PATCH, then close the upload with its digest
    (the registry checks the bytes against it and refuses a mismatch)."""
    headers = _internal_headers(f"repository:{repository}:push,pull")
    base = settings.REGISTRY_URL.rstrip("/")
    try:
        opened = requests.post(
            _url(f"{repository}/blobs/uploads/"), headers=headers, timeout=TIMEOUT
        )
        if opened.status_code != 202 or not opened.headers.get("Location"):
            raise RegistryUnavailable(
                f"The registry did not open an upload in {repository} ({opened.status_code})"
            )
        location = opened.headers["Location"]
        location = base + location if location.startswith("/") else location
        sent = requests.patch(
            location,
            data=iter(chunks),
            headers={**headers, "Content-Type": "application/octet-stream"},
            timeout=(TIMEOUT, 300),
        )
        if sent.status_code != 202:
            raise RegistryUnavailable(
                f"The registry refused the bytes of {digest} ({sent.status_code})"
            )
        location = sent.headers.get("Location") or location
        location = base + location if location.startswith("/") else location
        closed = requests.put(
            location,
            params={"digest": digest},
            headers={**headers, "Content-Length": "0"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise RegistryUnavailable(f"The registry could not be reached: {exc}") from exc
    if closed.status_code != 201:
        raise RegistryUnavailable(
            f"The registry refused blob {digest} ({closed.status_code}: {closed.text[:200]})"
        )
