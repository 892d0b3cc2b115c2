"""axe-core (4.14.1, vendored in tests/e2e/vendor, MPL-2.0; never loaded from a CDN) over the main
pages at 1280 and 390 px, in both colour schemes: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_delete_model import sign_in
from tests.e2e.test_phone_layout import main_pages, owned_model

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
__all__ = ["owned_model"]

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
DARK_SAMPLE = {
    "/login/",
    "/",
    "/reviews",
    "/settings/personal-access-tokens/new",
    "/docs/getting-started",
}
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => {
      const where = v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ");
      return `${v.id} (${v.impact}): ${where}`;
    });
}"""


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "light"), (1280, "dark")])
def test_the_main_pages_have_no_serious_accessibility_violations(
    page: Any, live_server: Any, owned_model: str, width: int, scheme: str
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    sign_in(page, live_server.url, "owen")
    found = []
    paths = ["/login/", *main_pages(owned_model)]
    if scheme == "dark":
        # Colours are what change in the dark scheme: one page of each kind is enough.
        paths = [p for p in paths if p in DARK_SAMPLE or p.endswith(("/settings", "/1.0.0"))]
    for path in paths:
        page.goto(live_server.url + path)
        # Through the DevTools protocol, which the page's Content-Security-Policy does not govern.
        page.evaluate(AXE)
        for violation in page.evaluate(RUN):
            found.append(f"{path}: {violation}")
    assert not found, "\n".join(found)
