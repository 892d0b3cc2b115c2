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

TREE: list[tuple[str, list[tuple[str, str]]]] = [
    ("Overview", [("getting-started", "Getting started")]),
    (
        "Users",
        [
            ("users/marketplace", "Browsing the marketplace"),
            ("users/creating-a-model", "Creating a model"),
            ("users/model-card", "Completing the model card"),
            ("users/creating-a-release", "Creating a release"),
            ("users/uploading-files", "Uploading files"),
            ("users/uploading-images", "Uploading images"),
            ("users/requesting-access", "Requesting access"),
            ("users/personal-access-tokens", "Personal access tokens"),
            ("users/using-a-pushed-image", "Using a pushed Docker image"),
            ("users/inferencing", "Inferencing"),
            ("users/downloading-files", "Downloading files"),
            ("users/deleting-a-file", "Deleting a file"),
            ("users/deleting-a-model", "Deleting a model"),
            ("users/soft-deletion", "Soft deletion"),
            ("users/model-mirroring", "Model mirroring"),
            ("users/reviews", "Reviews"),
        ],
    ),
    (
        "Programmatically using Bailo",
        [
            ("programmatic/authentication", "Authentication"),
            ("programmatic/openapi", "Open API"),
            ("programmatic/webhooks", "Webhooks"),
            ("programmatic/python-client", "Python client"),
        ],
    ),
    (
        "Administration",
        [
            ("administration/getting-started", "Getting started"),
            ("administration/app-configuration", "App configuration"),
            ("administration/microservices", "Microservices"),
            ("administration/operating-safely", "Operating it safely"),
            ("administration/file-scanners", "File scanners"),
            ("administration/helm", "Helm and Kubernetes"),
            ("administration/isolated-environments", "Isolated environments"),
            ("administration/schemas", "Schemas"),
            ("administration/review-roles", "Review roles"),
            ("administration/migrations", "Migrations"),
            ("administration/database-scripts", "Database scripts"),
        ],
    ),
]


@dataclass(frozen=True)
class DocLink:
    slug: str
    title: str


def _path(slug: str) -> Path | None:
    known = {s for _, pages in TREE for s, _ in pages}
    if slug not in known:
        return None
    path = DOCS_DIR / f"{slug}.md"
    return path if path.is_file() else None


def sidebar() -> list[tuple[str, list[DocLink]]]:
    sections = []
    for heading, pages in TREE:
        links = [DocLink(slug, title) for slug, title in pages if _path(slug)]
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
