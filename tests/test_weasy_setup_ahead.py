"""The last run's stylesheet set up ahead in the started layout process (weasy/last_setup.py, layout.setup_ahead,
warm._set_up_ahead): kept by a run, recalled by the next one's started process while it waits for its job, used only
for the very same stylesheet and font files with unchanged stamps, and the PDFs the same bytes as without."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

from qaexport.books.fonts import faces_for, font_face_css
from qaexport.weasy import last_setup, warm
from qaexport.weasy import layout as pdf_layout

FIXED = {"SOURCE_DATE_EPOCH": "1700000000"}
#: A small Markdown bank (the author's loop).
BANK = """---
framework: Words
topic: Greetings
subtopic: First
---

## What does the word mean? {#q1 .easy}

Peace, and a list:

1. one
2. two

## And code? {#q2 .medium}

```python
def f(x):
    return x
```
"""
HTML = "<h1>Title</h1><p>Some text, <b>bold</b>, <i>italic</i> and <code>code()</code>.</p><ol><li>one</li></ol>"


def _setup(tmp_path: Path) -> tuple[str, dict[str, Path]]:
    """A booklet's stylesheet over copies of its face files (so that a test can change one)."""
    faces = faces_for(HTML)
    css = font_face_css(faces) + "body { font-family: serif; }"
    files = {}
    for face in faces:
        copy = tmp_path / "faces" / face.path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(face.path, copy)
        files[face.uri] = copy
    return css, files


def test_what_a_run_keeps_the_next_recalls_and_anything_wrong_is_no_guess(tmp_path):
    assert last_setup.recall(tmp_path) is None  # none kept yet
    css, files = _setup(tmp_path)
    last_setup.remember(tmp_path, css, files)
    assert last_setup.recall(tmp_path) == (css, files)
    kept = tmp_path / last_setup.NAME
    before = kept.stat()
    last_setup.remember(tmp_path, css, files)  # the same again: not written again
    assert kept.stat().st_mtime_ns == before.st_mtime_ns and kept.stat().st_ino == before.st_ino
    for damaged in (b"{", b"[]", b'{"css": 1, "files": {}}', b'{"css": "", "files": {"a": 1}}',
                    b" " * (last_setup.MAX_BYTES + 1)):
        kept.write_bytes(damaged)
        assert last_setup.recall(tmp_path) is None
    kept.unlink()
    os.mkfifo(kept)  # never waited on
    assert last_setup.recall(tmp_path) is None


def test_a_setup_made_ahead_is_used_only_for_its_own_stylesheet_and_unchanged_files(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_layout, "_shared", None)
    css, files = _setup(tmp_path)
    pdf_layout.setup_ahead(css, files)
    ahead = pdf_layout._shared
    assert ahead is not None
    assert pdf_layout._setup(css, dict(files)) == (ahead[2], ahead[3])  # the very objects parsed ahead
    assert pdf_layout._setup(css + "p { color: red; }", files)[0] is not ahead[2]  # another stylesheet
    assert pdf_layout._setup(css, {**files, "extra": tmp_path / "x.svg"})[0] is not ahead[2]  # other files
    face = next(iter(files.values()))
    face.write_bytes(face.read_bytes())  # made again: another stamp (modification time), maybe other bytes
    os.utime(face, ns=(1, 1))
    assert pdf_layout._setup(css, files)[0] is not ahead[2]


def test_a_book_laid_out_with_its_setup_made_ahead_is_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_layout, "_shared", None)
    css, files = _setup(tmp_path)
    pdf_layout.write_pdf(HTML, css, "0" * 32, tmp_path / "fresh.pdf", lambda _n: None, files=files)
    pdf_layout.setup_ahead(css, files)
    pdf_layout.write_pdf(HTML, css, "0" * 32, tmp_path / "ahead.pdf", lambda _n: None, files=files)
    assert (tmp_path / "ahead.pdf").read_bytes() == (tmp_path / "fresh.pdf").read_bytes()


def test_the_started_process_sets_up_the_kept_stylesheet_while_it_waits(tmp_path, monkeypatch):
    """The started process (a real fork) recalls the kept stylesheet and parses it while no job has come; a job there
    already, or nothing kept, and it takes the job without."""
    from multiprocessing.connection import Connection

    css, files = _setup(tmp_path)
    last_setup.remember(tmp_path, css, files)

    def job(*_args):  # in the child (inherited by the fork): what the job finds set up
        shared = pdf_layout._shared
        return ["none" if shared is None else f"set up: {shared[0] == css} {shared[1] == files}"]

    def laid_out(come: bool, folder: Path | None) -> list[str]:
        monkeypatch.setattr(Connection, "poll", lambda _self, _timeout=0.0: come)  # has the job come yet?
        warm.set_up_ahead_from(None if folder is None else lambda: folder)
        warm.start()
        return warm.layout_whole(HTML, css, "id", tmp_path / "book.pdf", lambda _pages: None, "book", None, files,
                                 False)

    monkeypatch.setattr(pdf_layout, "write_pdf_sorted", job)
    monkeypatch.setattr(pdf_layout, "_shared", None)
    monkeypatch.setattr(warm, "_setup_from", None)
    assert laid_out(False, tmp_path) == ["set up: True True"]
    assert laid_out(True, tmp_path) == ["none"]  # the job came first: taken at once
    assert laid_out(False, tmp_path / "elsewhere") == ["none"]  # nothing kept there
    assert laid_out(False, None) == ["none"]  # --no-cache, or not started by the command
    assert warm.started() is None and multiprocessing.active_children() == []


def test_through_the_command_the_kept_stylesheet_is_the_run_s_and_the_book_the_same_bytes(tmp_path):
    """Through `python -m qaexport pdf` with a cache: the run keeps its stylesheet, the next (after an edit) is the same
    bytes as a run without the cache; --no-cache keeps nothing."""
    source = tmp_path / "bank" / "q.md"
    source.parent.mkdir()
    source.write_text(BANK, encoding="utf-8")
    cache = tmp_path / "cache"
    env = {**os.environ, **FIXED, "QAEXPORT_CACHE_DIR": str(cache)}

    def run(*args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "qaexport", "pdf", "bank", *args], cwd=tmp_path,
                                capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr

    run("-o", "first.pdf")
    kept = last_setup.recall(cache)
    assert kept is not None and "@font-face" in kept[0] and all(path.is_file() for path in kept[1].values())
    source.write_text(BANK.replace("Peace", "Peace (edited)"), encoding="utf-8")
    run("-o", "edited.pdf")
    assert last_setup.recall(cache) == kept  # the same stylesheet after the edit
    run("-o", "fresh.pdf", "--no-cache")
    assert (tmp_path / "edited.pdf").read_bytes() == (tmp_path / "fresh.pdf").read_bytes()
    assert (tmp_path / "edited.pdf").read_bytes() != (tmp_path / "first.pdf").read_bytes()
    shutil.rmtree(cache)
    run("-o", "again.pdf", "--no-cache")
    assert not (cache / last_setup.NAME).exists()
