"""Every Markdown bank makes valid books: EPUBCheck reports 0 messages and Ace by DAISY 0 violations on the study
book and on the quiz of each Markdown bank in ``tests/banks/``, the bank ``qaexport init`` writes, the documented
example bank, the cloze, images and math bank of ``test_cloze_images_math`` and the bundled sample converted to
Markdown."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli_run import qaexport
from tests.system_tools import ace, ace_violations
from tests.tools import run_epubcheck

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TEST_BANKS = sorted(p for p in (ROOT / "tests" / "banks").iterdir() if p.is_dir())
CLEAN = {"fatal": 0, "error": 0, "warning": 0, "info": 0, "usage": 0}
NAMES = ["init", "readme", "sample", "cloze-images-math", *(p.name for p in TEST_BANKS)]


def _readme_bank(folder: Path) -> Path:
    """The documented example bank (docs/formats.md)."""
    readme = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    block = readme.split("<!-- markdown-bank-example -->\n`````markdown\n", 1)[1].split("\n`````\n<!-- /", 1)[0]
    folder.mkdir(parents=True)
    (folder / "example.md").write_text(block + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def banks(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("banks")
    qaexport("init", str(tmp / "init"))
    qaexport("convert", str(ROOT / "data"), "-o", str(tmp / "sample"))
    from tests.test_cloze_images_math import write_bank

    out = {"init": tmp / "init" / "bank", "readme": _readme_bank(tmp / "readme"), "sample": tmp / "sample",
           "cloze-images-math": write_bank(tmp / "cim")}
    out.update({p.name: p for p in TEST_BANKS})
    assert len(TEST_BANKS) >= 2 and set(out) == set(NAMES)
    return out


@pytest.fixture(scope="module")
def books(banks, tmp_path_factory) -> dict[tuple[str, str], Path]:
    tmp = tmp_path_factory.mktemp("books")
    out = {}
    for name, bank in banks.items():
        for edition, flags in (("book", []), ("quiz", ["--answers", "end"])):
            out[name, edition] = tmp / f"{name}-{edition}.epub"
            qaexport("epub", str(bank), *flags, "-o", str(out[name, edition]))
    return out


@pytest.fixture(scope="module")
def ace_reports(books) -> dict[tuple[str, str], list[str]]:
    ace()  # installed once, before the threads
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(books, pool.map(ace_violations, books.values()), strict=True))


@pytest.mark.parametrize("edition", ["book", "quiz"])
@pytest.mark.parametrize("name", NAMES)
def test_epubcheck_reports_nothing(books, name, edition):
    counts, report = run_epubcheck(books[name, edition])
    assert counts == CLEAN, report


@pytest.mark.parametrize("edition", ["book", "quiz"])
@pytest.mark.parametrize("name", NAMES)
def test_ace_reports_no_violation(ace_reports, name, edition):
    assert ace_reports[name, edition] == []
