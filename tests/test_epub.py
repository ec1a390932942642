"""EPUBs checked by the official EPUBCheck and read back as zip files."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write
from tests.test_render import HOSTILE
from tests.tools import run_epubcheck

runner = CliRunner()
CLEAN = {"fatal": 0, "error": 0, "warning": 0, "info": 0, "usage": 0}


def build(*args: str) -> None:
    qaexport("epub", *args)


@pytest.fixture(scope="session")
def books(tmp_path_factory, sample_path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("epub")
    a = write(tmp / "a.json", page([subtopic("workers", "Workers", [question("basics", a="```python\nx = 1\n```")])]))
    b = write(tmp / "b.json", page(
        [subtopic("client", "Test Client", [question("basics", "hard"), question("mocks", "medium")],
                  fw="flask", topic="testing")],
        fw="flask", fw_name="Flask", topic="testing", topic_name="Testing"))
    hostile = write(tmp / "h.json", page([subtopic("x", "XSS <i>", [
        question("evil", q="<script>alert(1)</script>\u202e?", a=HOSTILE),
        question("evil2", q="Quiz <b>too</b>", a="<img src=x onerror=alert(1)> ![a](file:///etc/passwd)"),
    ])]))
    out = {"sample": tmp / "sample.epub", "two": tmp / "two.epub", "quiz": tmp / "quiz.epub",
           "hostile-quiz": tmp / "hostile.epub"}
    build(str(sample_path), "-o", str(out["sample"]))
    build(str(a), str(b), "-o", str(out["two"]))
    build(str(sample_path), "--answers", "end", "-o", str(out["quiz"]))
    build(str(hostile), "--answers", "end", "-o", str(out["hostile-quiz"]))
    return out


@pytest.fixture(scope="session")
def epubcheck_reports(books) -> dict[str, tuple[dict[str, int], str]]:
    with ThreadPoolExecutor(max_workers=len(books)) as pool:  # the JVM start dominates; overlap the three
        return dict(zip(books, pool.map(run_epubcheck, books.values()), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sample", "two", "quiz", "hostile-quiz"])
def test_epubcheck_reports_nothing(epubcheck_reports, name):
    counts, report = epubcheck_reports[name]
    assert counts == CLEAN, report


def _texts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist() if not n.endswith(".ttf")}  # fonts: binary


def _visible(xhtml: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", xhtml)).split())


def test_every_question_nav_entry_and_theme_css(books, sample_library):
    files = _texts(books["sample"])
    chapters = " ".join(_visible(v) for k, v in files.items() if k.endswith(".xhtml") and "nav" not in k)
    for ref in sample_library.questions():
        words = _visible(ref.question.question.replace("`", ""))
        assert words in chapters, words
    nav = files["EPUB/nav.xhtml"]
    for fw, topic, sub in sample_library.subtopics():
        label = re.escape(sub.name.replace("&", "&amp;"))
        assert re.search(rf'<a href="{fw.slug}-{topic.slug}-{sub.slug}.xhtml">{label}</a>', nav)
    assert "FastAPI" in nav and "Deployment &amp; Middleware" in nav
    css = files["EPUB/book.css"]
    assert "pre.hl{background-color:#f8f8f8" in css and ".hl .k{color:#008000" in css
    assert "@media (prefers-color-scheme: dark)" in css
    body_rule = re.search(r"^body \{([^}]*)\}", css, re.M).group(1)
    assert "color" not in body_rule and "background" not in body_rule
    assert files["mimetype"] == "application/epub+zip"
    with zipfile.ZipFile(books["sample"]) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED


def test_difficulty_shown_as_a_word(books):
    files = _texts(books["sample"])
    chapter = files["EPUB/fastapi-deployment-uvicorn-gunicorn.xhtml"]
    assert re.search(r"Difficulty: <strong>(easy|medium|hard)</strong>", chapter)


def test_quiz_answers_are_popup_footnotes_with_links_back(books, sample_library):
    files = _texts(books["quiz"])
    chapter = files["EPUB/fastapi-deployment-middleware.xhtml"]
    refs = re.findall(r'<a epub:type="noteref" role="doc-noteref" href="#a-([\w.-]+)" id="r-\1">', chapter)
    notes = re.findall(r'<aside epub:type="footnote" role="doc-footnote" id="a-([\w.-]+)"', chapter)
    backs = re.findall(r'<a href="#r-([\w.-]+)">', chapter)
    assert len(refs) == 12 and refs == notes == backs
    questions_part = chapter.split('<section class="answers"')[0]
    assert '<pre class="hl">' not in questions_part  # answers live only in the footnotes
    assert "(quiz)" in files["EPUB/content.opf"]


def test_two_source_book_groups_frameworks_in_the_toc(books):
    files = _texts(books["two"])
    nav = files["EPUB/nav.xhtml"]
    assert nav.index("FastAPI") < nav.index("Flask")
    assert "flask-testing-client.xhtml" in nav and "fastapi-deployment-workers.xhtml" in nav
    assert "flask-testing-client.xhtml" in files["EPUB/toc.ncx"]


def test_identifier_is_a_uuid_from_content_keys(books, tmp_path, sample_path):
    opf = _texts(books["sample"])["EPUB/content.opf"]
    ident = re.search(r'<dc:identifier id="id">(urn:uuid:[0-9a-f-]{36})</dc:identifier>', opf).group(1)
    again = tmp_path / "again.epub"
    build(str(sample_path), "-o", str(again))
    assert ident in _texts(again)["EPUB/content.opf"]
    hard = tmp_path / "other.epub"
    build(str(sample_path), "--topic", "middleware", "-o", str(hard))
    assert ident not in _texts(hard)["EPUB/content.opf"]


def test_modified_date_follows_source_date_epoch(tmp_path, sample_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "b.epub"
    build(str(sample_path), "-o", str(out))
    assert '<meta property="dcterms:modified">2023-11-14T22:13:20Z</meta>' in _texts(out)["EPUB/content.opf"]


def test_a_big_books_chapters_are_made_in_two_processes_and_are_the_same_bytes(tmp_path, sample_path, monkeypatch):
    """From HELPER_QUESTIONS questions on, a forked helper makes the second half of the chapters while this process
    makes the first: the same book, byte for byte, as one process makes it (the sample, with the threshold lowered;
    its render stays in this process, so every child started here is the helper)."""
    import qaexport.exporters.epub as epub_exporter
    from qaexport import forked

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    started = []
    start = forked.Children.start
    monkeypatch.setattr(forked.Children, "start", lambda group, work: started.append(work) or start(group, work))
    monkeypatch.setattr(epub_exporter, "HELPER_QUESTIONS", 10**9)
    build(str(sample_path), "-o", str(tmp_path / "one.epub"), "--no-cache")
    assert started == []
    for answers in ("inline", "end"):
        monkeypatch.setattr(epub_exporter, "HELPER_QUESTIONS", 1)
        build(str(sample_path), "-o", str(tmp_path / f"two-{answers}.epub"), "--no-cache", "--answers", answers)
        monkeypatch.setattr(epub_exporter, "HELPER_QUESTIONS", 10**9)
        build(str(sample_path), "-o", str(tmp_path / f"one-{answers}.epub"), "--no-cache", "--answers", answers)
        assert (tmp_path / f"two-{answers}.epub").read_bytes() == (tmp_path / f"one-{answers}.epub").read_bytes()
    assert len(started) == 2  # one helper per book made in two processes


def test_the_descriptions_are_made_while_the_texts_render_and_the_export_finds_them(tmp_path, sample_path,
                                                                                    monkeypatch):
    """``EpubExporter.prepare_alone`` (run while the texts render) makes the library's descriptions as HTML and
    ``books.html.description_html`` keeps them: the export, after the rendering, makes none anew. The same book as
    one made without them kept."""
    from qaexport import sources
    from qaexport.books.html import description_html
    from qaexport.exporters.epub import EpubExporter

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    library = sources.load([sample_path])
    texts = {n.description for fw in library.frameworks
             for n in (fw, *fw.topics, *(s for t in fw.topics for s in t.subtopics)) if n.description}
    assert len(texts) >= 3  # the sample has descriptions to make
    at_export = []
    export = EpubExporter.export
    monkeypatch.setattr(EpubExporter, "export", lambda self, *args: (
        at_export.append(description_html.cache_info()), export(self, *args))[1])
    description_html.cache_clear()
    build(str(sample_path), "-o", str(tmp_path / "kept.epub"), "--no-cache")
    made_before, after = at_export[0], description_html.cache_info()
    assert made_before.currsize == len(texts)
    assert after.misses == made_before.misses  # the export made none anew
    monkeypatch.setattr(EpubExporter, "prepare_alone", classmethod(lambda cls, _library: cls.prepare()))
    description_html.cache_clear()
    build(str(sample_path), "-o", str(tmp_path / "made.epub"), "--no-cache")
    assert at_export[1].currsize == 0
    assert (tmp_path / "kept.epub").read_bytes() == (tmp_path / "made.epub").read_bytes()


def test_the_export_loads_none_of_qaexports_modules_after_the_rendering(tmp_path, sample_path):
    """What the export uses is loaded by ``prepare`` while the texts render (the HTML-to-text of the descriptions,
    no longer loaded with the readers at the start: ``sources.apkg``), not after them with the other core idle."""
    code = ("import sys\nsys.argv = ['qaexport', *sys.argv[1:]]\nfrom qaexport.exporters.epub import EpubExporter\n"
            "export = EpubExporter.export\nnew = []\n"
            "def watched(self, *args):\n    before = set(sys.modules)\n    export(self, *args)\n"
            "    new.extend(sorted(m for m in set(sys.modules) - before if m.startswith('qaexport')))\n"
            "EpubExporter.export = watched\nfrom qaexport.launch import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\nprint(new)")
    result = subprocess.run([sys.executable, "-c", code, "epub", str(sample_path), "-o", str(tmp_path / "b.epub"),
                             "--no-cache"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]", result.stdout
