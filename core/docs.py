"""The in-app documentation at ``/docs``: markdown files under ``docs/`` with Bailo's tree.

The tree below is the sidebar. A page appears once its file exists, so each feature adds its page
by writing the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.markdown import render_markdown

DOCS_DIR = Path(settings.BASE_DIR) / "docs"

# The seed's table of contents: sections, each a list of (slug, title), where a slug starting with
# "#" is a sub-heading within the section (shown only if a page follows it).
TREE: list[tuple[str, list[tuple[str, str]]]] = [
    ("Overview", [("getting-started", "Getting started")]),
    (
        "Users",
        [
            ("#managing", "Managing models and releases"),
            ("users/creating-a-model", "Creating a model"),
            ("users/model-card", "Completing the model card"),
            ("users/creating-a-release", "Creating a release"),
            ("users/uploading-files", "Uploading files"),
            ("users/uploading-images", "Uploading images"),
            ("#using", "Using a model"),
            ("users/marketplace", "Browsing the marketplace"),
            ("users/requesting-access", "Requesting access"),
            ("users/personal-access-tokens", "Personal access tokens"),
            ("users/using-a-pushed-image", "Using a pushed Docker image"),
            ("users/downloading-files", "Downloading files"),
            ("users/inferencing", "Inferencing"),
            ("#deletion", "Deletion"),
            ("users/deleting-a-file", "Deleting a file"),
            ("users/deleting-a-model", "Deleting a model"),
            ("users/soft-deletion", "Soft deletion"),
            ("#mirroring", "Model mirroring"),
            ("users/model-mirroring", "Exporting, importing and transfers"),
            ("users/mirrored-models", "Creating and editing a mirrored model"),
            ("#reviews", "Reviews"),
            ("users/reviews", "Reviews"),
            ("users/model-card-reviews", "Model card reviews"),
        ],
    ),
    (
        "Programmatically using Bailo",
        [
            ("programmatic/authentication", "Authentication"),
            ("programmatic/openapi", "Open API"),
            ("programmatic/webhooks", "Webhooks"),
            ("programmatic/model-card-api", "Model cards and reviews from scripts"),
            ("programmatic/python-client", "Python client"),
        ],
    ),
    (
        "Administration",
        [
            ("administration/getting-started", "Getting started"),
            ("administration/app-configuration", "App configuration"),
            ("administration/microservices", "Microservices"),
            ("administration/file-scanners", "File scanners"),
            ("administration/operating-safely", "Operating it safely"),
            ("administration/openid-connect", "OpenID Connect"),
            ("administration/review-roles", "Review roles"),
            ("#helm", "Helm"),
            ("administration/helm", "Helm and Kubernetes"),
            ("administration/isolated-environments", "Isolated environments"),
            ("administration/federation", "Federation"),
            ("administration/model-mirroring", "Model mirroring"),
        ],
    ),
    ("Schema", [("administration/schemas", "Schemas")]),
    (
        "Migrations",
        [
            ("administration/migrations", "Migrations"),
            ("administration/database-scripts", "Database scripts"),
        ],
    ),
]


@dataclass(frozen=True)
class DocLink:
    slug: str
    title: str

    @property
    def is_heading(self) -> bool:
        return self.slug.startswith("#")


def _path(slug: str) -> Path | None:
    known = {s for _, pages in TREE for s, _ in pages if not s.startswith("#")}
    if slug not in known:
        return None
    path = DOCS_DIR / f"{slug}.md"
    return path if path.is_file() else None


def sidebar() -> list[tuple[str, list[DocLink]]]:
    """The sections with the pages that exist; a sub-heading only when a page follows it."""
    sections = []
    for heading, pages in TREE:
        links: list[DocLink] = []
        pending: DocLink | None = None
        for slug, title in pages:
            if slug.startswith("#"):
                pending = DocLink(slug, title)
            elif _path(slug):
                if pending is not None:
                    links.append(pending)
                    pending = None
                links.append(DocLink(slug, title))
        if links:
            sections.append((heading, links))
    return sections


def docs_page(request: HttpRequest, slug: str = "getting-started") -> HttpResponse:
    path = _path(slug.strip("/"))
    if path is None:
        raise Http404("No such documentation page")
    title = next(t for _, pages in TREE for s, t in pages if s == slug.strip("/"))
    html = render_markdown(path.read_text(encoding="utf-8"))
    return render(
        request,
        "docs/page.html",
        {"title": title, "content": html, "sidebar": sidebar(), "current": slug.strip("/")},
    )
