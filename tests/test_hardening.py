"""Hostile content in every output, atomic writes, reproducible builds, property tests."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport import sources
from qaexport.cli import app
from qaexport.errors import QaexportError
from qaexport.exporters.anki.identity import deck_id, note_guid
from qaexport.render import Highlighter, MarkdownRenderer, Scheme
from tests.anki_collection import import_deck, new_collection
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write
from tests.test_render import HOSTILE, live_markup_problems

runner = CliRunner()
FORMATS = ("anki", "epub", "pdf")
HOSTILE_QUESTION = "Why <script>alert(1)</script> and <img src=x onerror=alert(2)> with ab\u202ecd\u200b?"


@pytest.fixture(scope="session")
def hostile_outputs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("hostile-content")
    src = write(tmp / "hostile.json", page([subtopic("xss", "XSS <b>bold</b>", [
        question("evil", "hard", q=HOSTILE_QUESTION, a=HOSTILE),
        question("css", "easy", q="CSS `url()` tricks?",
                 a='<div style="background:url(file:///etc/passwd)">x</div> [c](data:text/css,body{}) '
                   "<style>@import url(https://evil.example/x.css);</style>"),
    ])]))
    out = {fmt: tmp / f"hostile.{'apkg' if fmt == 'anki' else fmt}" for fmt in FORMATS}
    for fmt in FORMATS:
        qaexport(fmt, str(src), "-o", str(out[fmt]))
    return out


def test_hostile_content_in_anki_cards(hostile_outputs, tmp_path):
    with new_collection(tmp_path / "col") as col:
        import_deck(col, hostile_outputs["anki"])
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            html = re.sub(r"<style>.*?</style>", "", card.answer(), flags=re.S)
            assert live_markup_problems(html) == []
        evil = col.get_note(col.find_notes("Key:*evil")[0])
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evil["Question"]
        assert "\u202e" not in evil["Question"] and "abcd" in evil["Question"]


def test_hostile_content_in_epub(hostile_outputs):
    with zipfile.ZipFile(hostile_outputs["epub"]) as zf:
        pages = [zf.read(n).decode() for n in zf.namelist() if n.endswith(".xhtml")]
    text = "\n".join(pages)
    body = re.sub(r"<head>.*?</head>", "", text, flags=re.S)  # our own head: charset, title, stylesheet
    assert live_markup_problems(body) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "XSS &lt;b&gt;bold&lt;/b&gt;" in text


def test_hostile_content_in_pdf(hostile_outputs):
    reader = PdfReader(hostile_outputs["pdf"])
    text = " ".join((p.extract_text() or "").replace("\x00", "") for p in reader.pages)
    assert all(not p.images for p in reader.pages)
    assert "<script>alert(1)</script>" in " ".join(text.split())
    assert "root:x:0:0" not in text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_write_keeps_previous_file_and_leaves_no_temp(fmt, failure, tmp_path, sample_path, monkeypatch):
    suffix = "apkg" if fmt == "anki" else fmt
    target = tmp_path / f"book.{suffix}"
    qaexport(fmt, str(sample_path), "-o", str(target))
    before = target.read_bytes()

    import qaexport.output as output

    real_replace = os.replace

    def failing_replace(src, dst):  # the temp file is complete here: fail at the last moment
        assert Path(src).stat().st_size > 0
        raise failure

    monkeypatch.setattr(output.os, "replace", failing_replace)
    result = runner.invoke(app, [fmt, str(sample_path), "-o", str(target), "--theme", "monokai"])
    monkeypatch.setattr(output.os, "replace", real_replace)
    assert result.exit_code == (1 if isinstance(failure, OSError) else 130), result.output
    assert "previous file is unchanged" in result.output or "not finished was left as it was" in result.output
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_failure_midway_through_writing(tmp_path, sample_path, monkeypatch):
    target = tmp_path / "deck.epub"
    qaexport("epub", str(sample_path), "-o", str(target))
    before = target.read_bytes()

    import qaexport.exporters.epub as epub_exporter

    def half_written(tmp, entries, time, stored):  # writes part of the book, then the disk fills up
        tmp.write_bytes(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(epub_exporter, "write_zip", half_written)
    # --no-cache: nothing changed, so the build manifest would skip the build this test breaks
    result = runner.invoke(app, ["epub", str(sample_path), "-o", str(target), "--no-cache"])
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["deck.epub"]


def test_unwritable_output_path_is_a_clear_error(tmp_path, sample_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["pdf", str(sample_path), "-o", str(blocker / "sub" / "book.pdf")])
    assert result.exit_code == 2  # said before anything is read (tests/test_cli_paths.py has every exporter)
    assert result.output.startswith("error:") and f"{blocker} is a file, not a folder" in result.output
    assert "Traceback" not in result.output


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=6), children, max_size=6),
    max_leaves=40,
)
payload_like = st.lists(
    st.one_of(
        st.dictionaries(st.sampled_from(["data", "subtopics", "questions", "id", "q", "a", "difficulty", "x"]),
                        st.integers(-7, 30), max_size=5),
        st.lists(st.integers(-7, 30), max_size=5),
        st.tuples(st.sampled_from(["Set", "Map", "Date", "BigInt", "Ref", "null", "Reactive", "Bogus"]),
                  st.integers(-7, 30)).map(list),
        st.sampled_from(["easy", "hard", "q1", "What?", "An answer", ""]),
        st.integers(), st.booleans(), st.none(),
    ),
    min_size=1, max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(json_values, payload_like))
def test_reader_returns_a_library_or_its_own_error(tmp_path, value):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(value))
    try:
        library = sources.load([path])
    except QaexportError as exc:
        assert "\n" not in str(exc)
    else:
        assert library.count() > 0


_md = MarkdownRenderer(Highlighter())
markdownish = st.lists(
    st.sampled_from([*"<>\"'=:/()[]!`*#\n -&;", "javascript:", "onerror=", "<script>", "data:", "file://",
                     "](", "<img src=", "```html\n", "```\n", "JaVaScRiPt:", "&#106;", "\u202e", "https://x.org"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(markdownish, st.text(max_size=80)))
def test_any_markdown_renders_without_live_markup(text):
    for scheme in (Scheme.COMPACT, Scheme.PORTABLE):
        assert live_markup_problems(_md.render(text, [scheme])[scheme]) == []
        assert live_markup_problems(_md.render_inline(text, [scheme])[scheme]) == []


@pytest.mark.slow
@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(st.text(min_size=1, max_size=60), min_size=200, max_size=200, unique=True))
def test_ids_are_the_same_in_every_process(keys):
    """Note GUIDs and deck ids are functions of the key alone, never of Python's per-process string hashing: a
    process with another hash seed computes the very same ones, and deck ids stay in Anki's safe integer range."""
    import subprocess
    import sys

    script = ("import json, sys\nfrom qaexport.exporters.anki.identity import deck_id, note_guid\n"
              "keys = json.load(sys.stdin)\nprint(json.dumps([[note_guid(k), deck_id(k)] for k in keys]))")
    other = subprocess.run([sys.executable, "-c", script], input=json.dumps(keys), capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}, check=True, timeout=60)
    here = [[note_guid(k), deck_id(k)] for k in keys]
    assert json.loads(other.stdout) == here
    assert all(1 < d < 2**53 for _, d in here) and len({g for g, _ in here}) == len(keys)


def _file_size_limit() -> None:
    """In the child: files may grow to 20 kB, and a write past that fails with EFBIG (instead of SIGXFSZ): a full
    disk for one process, without root or a mount."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="RLIMIT_FSIZE is a POSIX limit")
def test_a_pdf_that_cannot_be_written_says_write_failed_not_layout_failed(tmp_path):
    """trial10 #17: on a full disk `pdf` said "PDF layout failed (OSError: [Errno 28] No space left on device)": the
    layout worked, the write failed. The real command and layout, under a file-size limit (EFBIG, the same path)."""
    import subprocess
    import sys

    from tests.site_bank import write_bank

    bank = write_bank(tmp_path / "bank")
    env = {**os.environ, "QAEXPORT_STATE_DIR": str(tmp_path / "state"), "QAEXPORT_CACHE_DIR": str(tmp_path / "c")}
    target = tmp_path / "out" / "x.pdf"
    done = subprocess.run([sys.executable, "-m", "qaexport", "pdf", str(bank), "-o", str(target)], env=env,
                          preexec_fn=_file_size_limit, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert f"error: {target}: write failed (File too large); nothing was written" in done.stderr, done.stderr
    assert "layout failed" not in done.stderr and not target.exists()
