"""The README's pictures of the study site: the bundled sample and the Markdown bank `qaexport init` writes, each
as a phone by day, a phone at night and a desktop, taken in headless Chromium from the written site (file://).

    python -m tests.site_pictures docs/images
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.browser import launched

ROOT = Path(__file__).resolve().parent.parent
PHONE = {"width": 360, "height": 760}
DESKTOP = {"width": 1280, "height": 860}


def _site(sources: Path, target: Path) -> Path:
    subprocess.run([sys.executable, "-m", "qaexport", "site", str(sources), "-o", str(target)], check=True,
                   capture_output=True, env={"SOURCE_DATE_EPOCH": "1700000000", "PATH": ""})
    return target


def pictures(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp_name, launched() as browser:
        tmp = Path(tmp_name)
        subprocess.run([sys.executable, "-m", "qaexport", "init", str(tmp / "init")], check=True, capture_output=True)
        sites = {"seed": _site(ROOT / "data", tmp / "seed"), "markdown": _site(tmp / "init" / "bank", tmp / "md")}
        for name, site in sites.items():
            page_path = next(p for p in sorted(site.rglob("*.html")) if p.parent != site)
            for view, viewport, scheme in (("phone-day", PHONE, "light"), ("phone-night", PHONE, "dark"),
                                           ("desktop", DESKTOP, "light")):
                context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1)
                page = context.new_page()
                page.goto(page_path.as_uri())
                first = page.locator("li.qa").first
                first.locator("button.reveal").click()
                if view == "desktop":
                    first.locator("button.mark.knew").click()
                    page.locator("li.qa").nth(1).locator("button.reveal").click()
                    page.evaluate("window.scrollTo(0, 0)")
                target = out / f"site-{name}-{view}.png"
                page.screenshot(path=str(target))
                written.append(target)
                context.close()
    return written


if __name__ == "__main__":
    for path in pictures(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(path)
