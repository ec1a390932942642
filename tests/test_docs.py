"""The documentation stays true: the site (Sphinx + MyST) builds with warnings as errors, the README stays the
front door, every path the docs name exists, and the design page's layers are the ones the architecture test
enforces."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.test_architecture import FORBIDDEN

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    """Sphinx with MyST (the pages are Markdown): a broken link, a missing anchor or page, a bad code block or a
    page left out of the table of contents is a warning, and ``-W`` makes it an error."""
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
                             str(tmp_path / "site")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    pages = {p.name for p in (tmp_path / "site").glob("*.html")}
    assert {f"{p.stem}.html" for p in DOCS.glob("*.md")} <= pages


def test_a_broken_link_fails_the_build(tmp_path):
    """The control: the same build with one link to an anchor that does not exist."""
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs, ignore=shutil.ignore_patterns("_build"))
    (docs / "safety.md").write_text((docs / "safety.md").read_text() + "\nSee [nowhere](guide.md#no-such-part).\n")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(docs),
                             str(tmp_path / "site")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode != 0 and "no-such-part" in result.stderr, result.stderr


def test_the_readme_is_the_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 250
    assert readme.splitlines()[0] == "# qaexport"
    for page in sorted(p.name for p in DOCS.glob("*.md")):
        assert f"docs/{page}" in readme, f"the README links to every docs page: {page}"


def _named_paths(text: str) -> set[str]:
    """Repository paths written in backticks: `qaexport/...`, `tests/...`, `benchmarks/...`, `examples/...`."""
    return {m.rstrip("/.,") for m in re.findall(r"`((?:qaexport|tests|benchmarks|examples)/[\w./<>-]*)`", text)
            if "<" not in m}


def test_every_path_the_docs_name_exists():
    missing = {}
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        gone = sorted(p for p in _named_paths(page.read_text(encoding="utf-8")) if not (ROOT / p).exists())
        if gone:
            missing[page.name] = gone
    assert missing == {}


def test_the_path_check_sees_a_path_that_is_gone():
    assert _named_paths("see `qaexport/exporters/pdf_layout.py` and `tests/test_docs.py`.") == {
        "qaexport/exporters/pdf_layout.py", "tests/test_docs.py"}


def _layer_table(text: str) -> dict[str, set[str]]:
    rows = re.findall(r"^\| `(qaexport\.[\w.]+)` \| (.+) \|$", text, re.M)
    return {layer: set(re.findall(r"`(qaexport\.[\w.]+)`", banned)) for layer, banned in rows}


def test_the_design_page_shows_the_layers_the_code_is_held_to():
    design = (DOCS / "design.md").read_text(encoding="utf-8")
    assert _layer_table(design) == {layer: set(banned) for layer, banned in FORBIDDEN.items()}
    for module in ("weasy/compat.py", "qaexport.testing", "another exporter"):
        assert module in design


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub (and MyST's ``myst_heading_anchors``) make it: lower case, punctuation out,
    spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _broken_links(page: Path) -> list[str]:
    """Relative links of a Markdown page whose file or heading is gone (``[text](other.md#heading)``, images too)."""
    text = re.sub(r"^(```+|~~~+).*?^\1\s*$", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto: ...
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md":
            source = file.read_text(encoding="utf-8")
            labels = set(re.findall(r"^[\s*-]*\(([\w-]+)\)=\s*$", source, re.M))  # MyST targets: `(name)=`
            if anchor not in {_slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*$", source, re.M)} | labels:
                broken.append(target)
    return broken


def test_every_link_between_the_pages_finds_its_file_and_heading():
    broken = {page.name: b for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))] if (b := _broken_links(page))}
    assert broken == {}


def test_the_link_check_sees_a_heading_that_is_gone(tmp_path):
    (tmp_path / "a.md").write_text("# Top\n\n## Cloze, images & `math`\n\n[ok](#cloze-images--math) [gone](#cloze)\n"
                                   "[file](b.md) ![pic](c.png) [label](#kept)\n```\n[in code](#nothing)\n```\n"
                                   "- (kept)=\n  **Kept.**\n")
    assert _broken_links(tmp_path / "a.md") == ["#cloze", "b.md", "c.png"]
