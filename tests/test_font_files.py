"""A damaged font file (qaexport/font_files.py): the PDF, the cards and the EPUB stop with one FontError line naming
the file, what is wrong and how to repair it, and write nothing; a font file changed since a build makes the next
build build (the build manifest stamps the font files); a relative QAEXPORT_FONT_DIR is a folder like any other.

The font package files are never touched: each test copies them and points the text faces at the copies, the way
the run finds them (``books.fonts.text_faces``)."""

from __future__ import annotations

import os
import shutil
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from qaexport import font_files
from qaexport.books import fonts, instances
from qaexport.cli import app
from qaexport.exporters import epub as epub_exporter

runner = CliRunner()
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
OUTPUTS = {"pdf": "book.pdf", "cards": "cards.pdf", "epub": "book.epub"}


def _forget_faces() -> None:
    """The font lookups are kept for the life of a process: forgotten, so the next run looks again."""
    for found in (fonts.font_faces, fonts._print_faces, fonts.text_faces):
        getattr(found, "cache_clear", lambda: None)()  # text_faces may be the test's own, uncached


@pytest.fixture()
def copied_faces(tmp_path, monkeypatch) -> tuple[fonts.FontFace, ...]:
    """The text faces as copies of the package files in ``tmp_path/fonts``, which the runs below then use (the print
    layouts' static faces made from them in a store of their own)."""
    _forget_faces()
    monkeypatch.setattr(instances, "_chosen", instances._chosen)  # the CLI's choice of store undone afterwards
    faces = []
    for face in fonts.text_faces():
        copy = tmp_path / "fonts" / face.path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(face.path, copy)
        faces.append(type(face)(face.family, copy, face.style, face.weights))
    copied = tuple(faces)
    for module in (fonts, epub_exporter):
        monkeypatch.setattr(module, "text_faces", lambda: copied)
    monkeypatch.setenv("QAEXPORT_FONT_DIR", str(tmp_path / "store"))
    yield copied
    _forget_faces()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=EPOCH)
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["pdf", "cards", "epub"])
def test_a_damaged_font_package_file_is_one_line_naming_it_and_nothing_is_written(copied_faces, sample_path,
                                                                                 tmp_path, command):
    """A font package file cut short (a broken download or disk): HarfBuzz's subsetter failed with a traceback
    (PDF, cards), and the EPUB was written without the face, drawn in fallback fonts."""
    serif = copied_faces[0].path
    with open(serif, "r+b") as fh:
        fh.truncate(5000)
    target = tmp_path / "out" / OUTPUTS[command]
    code, output = run(command, str(sample_path), "-o", str(target), "--no-cache")
    lines = output.strip().splitlines()
    assert code == 1 and len(lines) == 1, output
    assert lines[0].startswith(f"error: {serif}: this font file is damaged: cut short at 5,000 bytes"), output
    assert "nothing was written" in lines[0] and "Traceback" not in output
    assert not target.exists() and (not target.parent.exists() or not any(target.parent.iterdir()))


def test_a_damaged_font_file_is_told_once_by_all_naming_the_formats_it_stopped(copied_faces, sample_path, tmp_path):
    """`qaexport all`: the PDF and the EPUB both meet the damaged file, and the same line came twice (a warning, then
    the error). Once now, naming both; the deck and the site, which use no font file, are written."""
    serif = copied_faces[0].path
    with open(serif, "r+b") as fh:
        fh.truncate(5000)
    out = tmp_path / "out"
    code, output = run("all", str(sample_path), "-o", f"{out}/", "--no-cache")
    told = [line for line in output.strip().splitlines() if not line.startswith("wrote ")]
    assert code == 1 and len(told) == 1, output
    assert told[0].startswith(f"error: epub, pdf: {serif}: this font file is damaged: cut short at 5,000 bytes"), output
    assert sorted(p.name for p in out.iterdir()) == ["fastapi-deployment-site", "fastapi-deployment.apkg"]


def test_a_file_that_is_no_font_is_named_too(tmp_path):
    path = tmp_path / "serif.ttf"
    path.write_bytes(b"<html>a download that went wrong</html>")
    with pytest.raises(font_files.FontError, match=f"^{path}: this font file is not a font file; nothing was"):
        instances.cut(path, {"a"})
    font = next(iter(fonts.text_faces())).path
    assert font_files.damage(font) is None  # the package's own file is whole


def test_the_fix_names_the_distribution_that_owns_the_file_or_the_store():
    """Reinstalling qaexport (--force-reinstall qaexport) fails for a checkout installed with ``pip install -e`` and
    reinstalls every dependency: the hint names the font's own distribution, at its version, without its
    dependencies; a file of the font store is made again once deleted."""
    serif = next(face for face in fonts.text_faces() if face.family == fonts.SERIF).path
    hint = font_files.repair_hint(serif)
    assert hint.endswith(f"pip install --force-reinstall --no-deps fontpkg-noto-serif=={version('fontpkg-noto-serif')}")
    assert "qaexport" not in hint
    made = next(face for face in fonts.print_text_faces()).path
    assert made.parent == instances.store_folder()
    hint = font_files.repair_hint(made)
    assert hint == f"It is in qaexport's font store: delete it ({made}); the next run makes it again"


def test_a_font_file_changed_since_a_build_builds_again(copied_faces, sample_path, tmp_path):
    """A font package file changed since a build (damaged, upgraded in place, repaired: here only its stamp, the
    same bytes) makes the next build build: the manifest used to copy the book made before, as it did not see the
    font files (a book made with a damaged font was copied on after the repair)."""
    first, second = tmp_path / "a" / "book.epub", tmp_path / "b" / "book.epub"
    code, output = run("epub", str(sample_path), "-o", str(first))
    assert code == 0 and "wrote" in output, output
    code, output = run("epub", str(sample_path), "-o", str(second))
    assert code == 0 and f"copied from {first}" in output, output  # nothing changed: the shortcut works
    serif = copied_faces[0].path
    info = serif.stat()
    os.utime(serif, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))  # the same bytes, another stamp
    second.unlink()
    code, output = run("epub", str(sample_path), "-o", str(second))
    assert code == 0 and "nothing changed" not in output and "wrote" in output, output


def test_a_relative_font_store_folder_is_the_working_folders(sample_path, tmp_path, monkeypatch):
    """``QAEXPORT_FONT_DIR=relfonts``: the PDF ended in a traceback (a relative path has no ``file:`` URL)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QAEXPORT_FONT_DIR", "relfonts")
    monkeypatch.setattr(instances, "_chosen", instances._chosen)
    _forget_faces()
    try:
        code, output = run("pdf", str(sample_path), "-o", "book.pdf", "--no-cache")
    finally:
        _forget_faces()
    assert code == 0 and "wrote" in output, output
    assert (tmp_path / "book.pdf").stat().st_size > 0
    assert instances.store_folder() == tmp_path / "relfonts" and any((tmp_path / "relfonts").glob("*.ttf"))
