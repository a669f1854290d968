"""Accessibility checks with axe-core (npm package, pinned in package-lock.json).

``make test-deps`` runs ``npm ci`` when node_modules is missing. The check runs the
WCAG 2.0/2.1 A and AA rules and fails on serious or critical violations, listing each
with the offending elements so the report says what to fix.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.chromium import ci_required
from tests.fixtures.databases import REPO_ROOT

AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING_IMPACTS = ("serious", "critical")
REPORT_DIR = REPO_ROOT / "test-artifacts" / "axe"


def require_axe() -> Path:
    if AXE_JS.is_file():
        return AXE_JS
    message = f"accessibility checks need axe-core: {AXE_JS} is missing; run `npm ci` (make test-deps does)"
    if ci_required():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def inject_axe(page: Page) -> None:
    if page.evaluate("() => typeof window.axe === 'object'"):
        return
    axe = require_axe()
    with contextlib.suppress(Exception):  # a strict CSP refuses the inline script tag
        page.add_script_tag(path=str(axe))
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # DevTools evaluation is not subject to the page's Content-Security-Policy.
        page.evaluate(axe.read_text(encoding="utf-8") + "\n;undefined")


def run_axe(page: Page, *, tags: tuple[str, ...] = AXE_TAGS) -> dict[str, Any]:
    inject_axe(page)
    return page.evaluate(
        """async (tags) => await axe.run(document, {
            runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations'],
        })""",
        list(tags),
    )


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:8]:
            target = " ".join(str(part) for part in node.get("target", []))
            lines.append(f"    at {target}: {node.get('html', '')[:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    ... and {len(violation['nodes']) - 8} more elements")
    return "\n".join(lines)


def check_accessibility(page: Page, name: str) -> list[dict[str, Any]]:
    """Run axe on the page; fail on serious/critical violations. Returns the minor ones.

    The full result is written to test-artifacts/axe/<name>.json for reading later.
    """
    results = run_axe(page)
    if not results.get("passes") and not results.get("violations"):
        pytest.fail(
            f"axe-core checked nothing on {name} ({page.url}): is the page empty?", pytrace=False
        )
    violations = results.get("violations", [])
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / f"{name}.json").write_text(
        json.dumps(violations, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        pytest.fail(
            f"axe-core: {len(blocking)} serious/critical accessibility violation(s) on {name} ({page.url}):\n"
            + describe(blocking),
            pytrace=False,
        )
    return [v for v in violations if v.get("impact") not in BLOCKING_IMPACTS]
