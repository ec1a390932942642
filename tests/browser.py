"""Headless Chromium driven by Playwright for Python: the system's Chromium (never a downloaded browser), pages
watched for console errors, and axe-core run in them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.system_tools import axe_core, chromium

#: Where the browser may go: the test's own pages. Any other request is refused and recorded.
LOCAL = ("file://", "http://127.0.0.1:", "data:", "blob:", "about:")


@dataclass
class Watched:
    """What a page said while a test used it: console errors, uncaught exceptions, refused requests."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return self.errors + [f"request outside the test: {url}" for url in self.outside]


@contextlib.contextmanager
def launched(*args: str) -> Iterator[Any]:
    """A Playwright Chromium browser on the system's executable (``args``: more command-line switches)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox", *args])
        try:
            yield browser
        finally:
            browser.close()


def watch(page: Any) -> Watched:
    """Record ``page``'s console errors and uncaught exceptions, and refuse every request that leaves the test."""
    seen = Watched()
    page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            seen.outside.append(url)
            route.abort()

    page.route("**/*", route)
    return seen


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA and best practices), one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_core()))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"], preload: false});
        return r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [f"{v['id']}: {v['help']} at {json.dumps(v['nodes'][:5])}" for v in result]
