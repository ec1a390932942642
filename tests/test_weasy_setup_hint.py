"""The stylesheet hinted to the started layout process (``warm.hint_setup``): the exporter sends, before it makes the
book's HTML, the stylesheet and files the job will have; the started process sets them up while no job has come, and
the job uses that setup only for its very own stylesheet (``layout._setup``). A cold run's job then starts laid out
instead of parsing its stylesheet first."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qaexport.books.fonts import faces_for, font_face_css
from qaexport.weasy import layout as pdf_layout
from qaexport.weasy import warm
from tests.cli_run import qaexport
from tests.print_banks import symbols_bank

ROOT = Path(__file__).resolve().parent.parent
HTML = "<h1>Title</h1><p>Some text, <b>bold</b>, <i>italic</i> and <code>code()</code>.</p>"


def test_the_started_process_sets_up_the_hinted_stylesheet_before_its_job(tmp_path, monkeypatch):
    """A real fork, nothing kept from a last run: a hint sent before the job is set up while the job has not come;
    a hint whose job is already there is skipped (the job sets up its own, as without a hint)."""
    from multiprocessing.connection import Connection

    faces = faces_for(HTML)
    css = font_face_css(faces) + "body { font-family: serif; }"
    files = {face.uri: face.path for face in faces}

    def job(*_args):  # in the child (inherited by the fork): what the job finds set up
        shared = pdf_layout._shared
        return ["none" if shared is None else f"set up: {shared[0] == css} {shared[1] == files}"]

    def laid_out(come: bool, hinted: bool) -> list[str]:
        monkeypatch.setattr(Connection, "poll", lambda _self, _timeout=0.0: come)  # has the job come yet?
        warm.start()
        if hinted:
            warm.hint_setup(css, files)
        return warm.layout_whole(HTML, css, "id", tmp_path / "book.pdf", lambda _pages: None, "book", None, files,
                                 False)

    monkeypatch.setattr(pdf_layout, "write_pdf_sorted", job)
    monkeypatch.setattr(pdf_layout, "_shared", None)
    monkeypatch.setattr(warm, "_setup_from", None)  # a cold cache: no stylesheet kept by a last run
    assert laid_out(False, True) == ["set up: True True"]
    assert laid_out(True, True) == ["none"]  # the job came with it: taken at once
    assert laid_out(False, False) == ["none"]  # no hint (a run not through the exporter): as before
    assert warm.started() is None and multiprocessing.active_children() == []


@pytest.mark.parametrize("bank", ["sample", "layout", "symbols", "author"])
def test_the_hint_is_the_stylesheet_the_book_is_laid_out_with(bank, tmp_path, monkeypatch):
    """What the exporter hints, before it makes the HTML, is the very stylesheet and files it then lays the book out
    with: the sample, the layout bank, a bank whose text needs the symbols, emoji and script faces, and the author's
    loop's bank (the benchmark's)."""
    if bank == "author":
        monkeypatch.syspath_prepend(str(ROOT))
        from benchmarks.synth import synthesise

        synthesise(16, tmp_path / "payloads")
        qaexport("convert", str(tmp_path / "payloads"), "--to", "markdown", "-o", str(tmp_path / "bank"))
        source = tmp_path / "bank"
    else:
        source = {"sample": ROOT / "data", "layout": ROOT / "tests" / "banks" / "layout",
                  "symbols": symbols_bank(tmp_path)}[bank]
    seen: dict[str, object] = {}
    monkeypatch.setattr(warm, "hint_setup", lambda css, files: seen.update(hint=(css, files)))

    def layout_whole(html, css, identifier, target, advance, label, media, files, tagged, keep_setup=None):
        seen["job"] = (css, files)
        Path(target).write_bytes(b"%PDF-1.7\n")
        return []

    monkeypatch.setattr(warm, "layout_whole", layout_whole)
    qaexport("pdf", str(source), "-o", str(tmp_path / "book.pdf"), "--no-cache")
    assert "hint" in seen and seen["hint"] == seen["job"]


def test_a_cold_run_through_the_command_is_the_same_bytes_as_without_the_cache(tmp_path):
    """`python -m qaexport pdf` with an empty cache (the started process, the hint) and with --no-cache: the same
    bytes."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    source = symbols_bank(tmp_path)
    for name, extra in (("cold", []), ("plain", ["--no-cache"])):
        result = subprocess.run([sys.executable, "-m", "qaexport", "pdf", str(source), "-o", name + ".pdf", *extra],
                                cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "cold.pdf").read_bytes() == (tmp_path / "plain.pdf").read_bytes()
