"""Accessibility checks in the browser: axe-core (pinned from npm, checked by hash like htmx,
loaded only here) on a page state, and the contrast of a colour pair."""

from __future__ import annotations

import functools
import re
from typing import Any

from playwright.sync_api import Page

from frontend import vendor

BLOCKING = ("serious", "critical")
# The pinned copy of axe, evaluated in the page through the DevTools protocol: the page's
# Content-Security-Policy allows no script but its own, and stays as the server sends it.
RUN_AXE = """async (levels) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter((v) => levels.includes(v.impact)).map((v) => ({
    rule: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary),
  }));
}"""


@functools.cache
def axe_source() -> str:
    (item,) = [item for item in vendor.pinned() if item.file == "axe.min.js"]
    assert vendor.is_verified(item), "axe-core is not fetched: run `python -m frontend.vendor`"
    return item.local_path.read_text(encoding="utf-8") + "\n;0"


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, list(BLOCKING))
    return found


def audit(page: Page, state: str) -> None:
    """No serious or critical accessibility violation in this state of the page."""
    found = serious_violations(page)
    assert not found, f"accessibility violations ({state}): {found}"


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def parse_rgb(css: str) -> tuple[float, ...]:
    """``rgb(…)``/``rgba(…)`` as numbers."""
    return tuple(float(part) for part in re.findall(r"[\d.]+", css))


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb()`` colours."""
    light, dark = sorted((_luminance(parse_rgb(first)), _luminance(parse_rgb(second))))[::-1]
    return (light + 0.05) / (dark + 0.05)
