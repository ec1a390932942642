"""The booklet, read back with pypdf: outline, text, TOC page numbers, quiz mode, safety."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport.weasy.layout import RefusingFetcher
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

runner = CliRunner()


def build(*args: str) -> None:
    qaexport("pdf", *args)


@pytest.fixture(scope="session")
def booklets(tmp_path_factory, sample_path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pdf")
    out = {"study": tmp / "study.pdf", "quiz": tmp / "quiz.pdf"}
    build(str(sample_path), "-o", str(out["study"]))
    build(str(sample_path), "--answers", "end", "--paper", "letter", "-o", str(out["quiz"]))
    return out


def _norm(text: str) -> str:
    # pypdf reads some WeasyPrint font subsets as UTF-16 with NULs between characters
    return " ".join(text.replace("\u00ad", "").replace("\x00", "").split())


def _pages(path: Path) -> list[str]:
    return [_norm(p.extract_text() or "") for p in PdfReader(path).pages]


def _outline(path: Path) -> list[tuple[int, str, int]]:
    reader = PdfReader(path)
    flat: list[tuple[int, str, int]] = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                flat.append((depth, item.title, reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 1)
    return flat


def test_outline_nests_framework_topic_subtopic(booklets, sample_library):
    outline = _outline(booklets["study"])
    assert [(d, t) for d, t, _ in outline] == [
        (1, "FastAPI"), (2, "Deployment & Middleware"),
        (3, "Uvicorn & Gunicorn"), (3, "Middleware"), (3, "Background Tasks"),
    ]
    assert all(p >= 3 for _, _, p in outline)


def test_every_question_is_in_the_text(booklets, sample_library):
    text = " ".join(_pages(booklets["study"]))
    squashed = text.replace(" ", "")
    for ref in sample_library.questions():
        q = _norm(ref.question.question.replace("`", ""))
        assert q.replace(" ", "") in squashed, q


def test_toc_numbers_are_real_and_match_the_outline(booklets):
    for path in booklets.values():
        pages = _pages(path)
        toc = pages[1]
        assert toc.startswith("Contents")
        outline = {t: p for _, t, p in _outline(path) if t != "FastAPI"}  # one framework: not in the TOC
        entries = re.findall(r"(\w[^.]*?)(?: \(\d+\))?\s*(?:\.\s*){3,}(\d+)", toc.removeprefix("Contents"))
        found = {title.strip(): int(n) for title, n in entries}
        assert set(found) == set(outline), (found, toc)
        assert all(n > 0 for n in found.values())
        assert found == outline


def test_running_header_and_page_footer(booklets):
    pages = _pages(booklets["study"])
    total = len(pages)
    assert "FastAPI / Deployment & Middleware" in pages[3]
    assert pages[3].endswith(f"4 / {total}") or f"4 / {total}" in pages[3]
    assert f"1 / {total}" not in pages[0]  # no footer on the cover


def test_cover_has_counts_per_difficulty(booklets):
    cover = _pages(booklets["study"])[0]
    assert re.search(r"EASY MEDIUM HARD TOTAL 9 16 9 34|EASY 9 MEDIUM 16 HARD 9 TOTAL 34", cover), cover


def test_quiz_mode_has_answer_key_and_no_answers_in_the_body(booklets, sample_library):
    pages = _pages(booklets["quiz"])
    key_start = next(i for i, p in enumerate(pages) if p.startswith("Answer key") or " Answer key " in p[:80])
    body, key = " ".join(pages[2:key_start]), " ".join(pages[key_start:])
    assert "Answer on page" in body
    assert "lightning-fast ASGI server" not in body
    assert "lightning-fast ASGI server" in key
    refs = [int(n) for n in re.findall(r"Answer on page (\d+)", body)]
    assert len(refs) == 34 and all(n > key_start for n in refs)
    backs = [int(n) for n in re.findall(r"question on page (\d+)", key)]
    assert len(backs) == 34 and all(3 <= n <= key_start for n in backs)
    reader = PdfReader(booklets["quiz"])
    assert round(float(reader.pages[0].mediabox.width)) == 612  # letter


def test_content_asking_for_local_files_gets_nothing(tmp_path):
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">'
                      '<text x="0" y="30">TOPSECRETMARKER</text></svg>')
    answer = (f'<img src="file://{secret}"> ![s](file://{secret}) <link rel="stylesheet" href="file://{secret}">\n\n'
              f'<iframe src="file://{secret}"></iframe> [x](file://{secret}) ![r](https://example.invalid/x.svg)')
    src = write(tmp_path / "evil.json", page([subtopic("s", "S", [question("q", a=answer)])]))
    out = tmp_path / "evil.pdf"
    build(str(src), "-o", str(out))
    reader = PdfReader(out)
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "TOPSECRETMARKER" not in text
    assert all(not page.images for page in reader.pages)
    assert "secret.svg" in text  # shown as text, not fetched


def test_fetcher_refuses_everything():
    fetcher = RefusingFetcher()
    for url in ("file:///etc/passwd", "https://example.com/x.png", "data:text/plain,hi"):
        with pytest.raises(ValueError, match="does not fetch"):
            fetcher.fetch(url)


def test_a_layout_pauses_the_cyclic_collector_and_restores_it(tmp_path):
    """The layout's millions of live objects are not visited by automatic collections (``layout.write_pdf``); the
    collector is as it was after the layout, also when it fails, and a caller's paused collector stays paused."""
    import gc

    from qaexport.weasy.layout import write_pdf

    seen: list[tuple[bool, int]] = []
    assert gc.isenabled()
    write_pdf("<p>x</p>", "", "0" * 32, tmp_path / "a.pdf", lambda _n: None,
              laid_out=lambda document: seen.append((gc.isenabled(), len(document.pages))))
    assert seen == [(False, 1)] and gc.isenabled()

    def fail(_document: object) -> None:
        raise RuntimeError("laid out, then failed")

    with pytest.raises(RuntimeError):
        write_pdf("<p>x</p>", "", "0" * 32, tmp_path / "b.pdf", lambda _n: None, laid_out=fail)
    assert gc.isenabled()
    gc.disable()
    try:
        write_pdf("<p>x</p>", "", "0" * 32, tmp_path / "c.pdf", lambda _n: None)
        assert not gc.isenabled()
    finally:
        gc.enable()


def _lead_in_bank(folder: Path) -> Path:
    """Forty answers of growing length, each ending in a paragraph that introduces a block: a code block (even
    answers) or a list (odd ones). Their ends fall all over the pages, so without the rule several introducing
    paragraphs end a page alone while their blocks start the next one."""
    questions = []
    for n in range(40):
        filler = " ".join(["Words that fill the answer up to where its introduction falls."] * (n % 13 + 1))
        block = (f"```python\nfirst{n}value = {n}\n" + "".join(f"more{n}value{k} = {k}\n" for k in range(6)) + "```"
                 if n % 2 == 0 else "".join(f"- item{n}point{k} of the list\n" for k in range(6)))
        questions.append(question(f"q{n}", "easy", q=f"Question number {n}?",
                                  a=f"{filler}\n\nLead{n} introduces the block below:\n\n{block}"))
    return write(folder / "lead-in.json", page([subtopic("lead", "Lead-ins", questions)]))


def test_a_paragraph_that_introduces_a_block_is_on_the_page_the_block_starts_on(tmp_path):
    """A paragraph leading into a code block or a list (ending with ':') was left alone at the foot of a page, its
    block on the next (17 times in the 560-question book): it keeps with the block (templates/pdf/book.css)."""
    pdf = tmp_path / "lead-in.pdf"
    build(str(_lead_in_bank(tmp_path)), "-o", str(pdf))
    pages = [text.replace(" ", "") for text in _pages(pdf)]

    def page_of(text: str) -> int:
        return next(i for i, words in enumerate(pages) if text in words)

    for n in range(40):
        first = f"first{n}value={n}" if n % 2 == 0 else f"item{n}point0"
        assert page_of(f"Lead{n}introducestheblockbelow:") == page_of(first), (n, len(pages))
