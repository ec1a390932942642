"""Fonts that travel: the books take every font from pinned Python packages, so a machine without any system font
(fontconfig pointed at an empty configuration) prints every glyph of the seed; the EPUB embeds subsetted fonts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from qaexport.books.fonts import (
    EVERY_TEXT_FACE_HAS,
    MONO,
    SANS,
    SERIF,
    covered,
    faces_for,
    fallback_faces,
    font_face_css,
    font_faces,
    print_fallback_faces,
    print_text_faces,
    subset_font,
    text_faces,
)
from tests.pdf_glyphs import glyph_report
from tests.tools import run_epubcheck

ROOT = Path(__file__).resolve().parent.parent
EMPTY = """<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n"""


@pytest.fixture(scope="module")
def without_system_fonts(tmp_path_factory) -> dict[str, Path | str]:
    """The seed's PDF, cards and EPUB built with fontconfig knowing no font at all, and what the runs printed."""
    tmp = tmp_path_factory.mktemp("no-fonts")
    (tmp / "fonts.conf").write_text(EMPTY)
    env = {**os.environ, "FONTCONFIG_FILE": str(tmp / "fonts.conf"), "SOURCE_DATE_EPOCH": "1700000000",
           "QAEXPORT_STATE_DIR": str(tmp / "state")}
    out: dict[str, Path | str] = {"stderr": ""}
    for command, name in (("pdf", "seed.pdf"), ("cards", "seed.cards.pdf"), ("epub", "seed.epub")):
        result = subprocess.run([sys.executable, "-m", "qaexport", command, str(ROOT / "data"), "-o",
                                 str(tmp / name), "--no-cache"], env=env, capture_output=True, text=True,
                                timeout=600, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        out[name] = tmp / name
        out["stderr"] = str(out["stderr"]) + result.stderr
    return out


# The seed built three times in processes of their own (~13 s of CPU), and EPUBCheck: end to end, slow.
@pytest.mark.slow
def test_the_runs_warn_of_no_missing_glyph(without_system_fonts):
    assert "no installed font has" not in without_system_fonts["stderr"]
    assert "No fonts configured" not in without_system_fonts["stderr"]  # WeasyPrint's false alarm is ours to keep


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seed.pdf", "seed.cards.pdf"])
def test_print_without_system_fonts_draws_every_character(name, without_system_fonts):
    report = glyph_report(without_system_fonts[name])
    assert report.notdef == []
    assert len(report.drawn) > 1000
    families = {re.sub(r"^[A-Z]{6}\+", "", font).split("-")[1] for font in report.fonts}
    assert {"Serif", "Sans", "Mono"} <= families or (name.startswith("seed.cards") and {"Sans", "Mono"} <= families)
    assert all(font.split("+")[-1].startswith("qaexport-") for font in report.fonts), report.fonts


@pytest.mark.slow
def test_the_epub_embeds_subsetted_fonts_that_hold_every_character(without_system_fonts, tmp_path):
    path = Path(without_system_fonts["seed.epub"])
    assert run_epubcheck(path)[0] == dict.fromkeys(("fatal", "error", "warning", "info", "usage"), 0)
    with zipfile.ZipFile(path) as book:
        fonts = {name: book.read(name) for name in book.namelist() if name.endswith(".ttf")}
        pages = [book.read(n).decode() for n in book.namelist() if n.endswith(".xhtml") and "nav" not in n]
        css = book.read("EPUB/book.css").decode()
    assert set(fonts) >= {f"EPUB/fonts/{face}{bold}{italic}.ttf" for face in ("serif", "mono")
                          for bold in ("", "-bold") for italic in ("", "-italic")}
    weights = {}
    for name in ("serif", "serif-bold", "mono-bold-italic"):
        (tmp_path / "w.ttf").write_bytes(fonts[f"EPUB/fonts/{name}.ttf"])
        weights[name] = TTFont(tmp_path / "w.ttf")["OS/2"].usWeightClass
        assert re.search(rf'url\("fonts/{name}\.ttf"\); font-weight: {weights[name]};', css), name
    assert weights == {"serif": 400, "serif-bold": 700, "mono-bold-italic": 700}
    held: set[str] = set()
    for name, data in fonts.items():
        (tmp_path / "f.ttf").write_bytes(data)
        font = TTFont(tmp_path / "f.ttf")
        held |= {chr(code) for code in font.getBestCmap()}
        assert len(font.getGlyphOrder()) < 1000, f"{name} is not subsetted"
        assert "fvar" not in font, f"{name} is a variable font (many readers draw only its default)"
        assert f'url("{name.removeprefix("EPUB/")}")' in css
    text = "".join(re.sub(r"<[^>]+>", "", re.sub(r"&#?\w+;", "", page)) for page in pages)
    assert {c for c in text if not c.isspace()} - held == set()
    assert f'font-family: "{SERIF}", serif' in css and f'font-family: "{MONO}"' in css


def test_the_faces_come_from_their_packages_and_the_css_names_them_all():
    families = {(face.family, face.style) for face in text_faces()}
    assert families == {(f, s) for f in (SERIF, SANS, MONO) for s in ("normal", "italic")}
    assert all("site-packages" in str(face.path) or "dist-packages" in str(face.path) for face in text_faces())
    css = font_face_css()
    for face in print_text_faces():  # the static instances of the text faces (tests/test_instances.py)
        assert face.uri in css
    # a static file per weight of each text face and of the two fallback faces books draw most (symbols, emoji)
    assert css.count("font-weight: 400;") == css.count("font-weight: 700;") == len(text_faces()) + 2


def test_every_text_face_draws_the_characters_that_need_no_fallback():
    """A book of only these characters names no fallback face (``faces_for``): each text face must have them all."""
    for face in text_faces():
        assert EVERY_TEXT_FACE_HAS - {"\n"} <= covered(face), face.path.name


def test_a_document_names_the_fallback_faces_its_characters_need():
    assert faces_for("<p>Plain — “quoted”, café, naïve, Łódź…</p>\n<pre>x = 1</pre>") == print_text_faces()
    for other in ("→", "✅", "ب", "◌", "漢", "\u200b", "Ĳ"):  # each to the first fallback face that has it (漢: none)
        first = [face.family for face in fallback_faces() if other in covered(face)][:1]
        named = tuple(face for face in print_fallback_faces() if face.family in first)  # symbols, emoji: 2 weights
        assert faces_for(f"<p>a {other} b</p>") == print_text_faces() + named, other
    assert len([f for f in fallback_faces() if "◌" in covered(f)]) > 1  # a later face that has it is left out
    assert [(f.family, f.weights) for f in faces_for("→ ✅ ب")[len(print_text_faces()):]] == [
        ("qaexport Symbols", "400"), ("qaexport Symbols", "700"), ("qaexport Emoji", "400"), ("qaexport Emoji", "700"),
        ("qaexport Arabic", "")]  # in the stack's order; the first two static files (STATIC_FALLBACKS)
    css = font_face_css(print_text_faces())
    assert f"--qaexport-fallback: '{SERIF}';" in css  # the stacks stay valid without fallback faces
    assert font_face_css().count("@font-face") == len(font_faces()) > css.count("@font-face") == \
        len(print_text_faces())


@pytest.mark.slow
def test_a_booklet_with_the_faces_it_needs_is_the_same_as_with_every_face(tmp_path, monkeypatch):
    """Naming only the faces a book's characters need changes no byte of the PDF."""
    import qaexport.exporters.pdf as pdf_exporter
    from tests.cli_run import qaexport

    bank = ROOT / "data"  # plain text, arrows (Symbols) and marks (Emoji): two of the fallback faces
    env = {"SOURCE_DATE_EPOCH": "1700000000", "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    chosen: list[int] = []
    monkeypatch.setattr(pdf_exporter, "faces_for", lambda text: chosen.append(len(faces_for(text))) or faces_for(text))
    qaexport("pdf", str(bank), "-o", str(tmp_path / "text-faces.pdf"), "--no-cache", env=env)  # each really builds
    monkeypatch.setattr(pdf_exporter, "faces_for", lambda text: chosen.append(len(font_faces())) or font_faces())
    qaexport("pdf", str(bank), "-o", str(tmp_path / "every-face.pdf"), "--no-cache", env=env)
    # each build names its faces twice, the same both times: for the stylesheet set up ahead while the HTML is made
    # (warm.hint_setup), and for the book's own
    assert chosen == [len(print_text_faces()) + 4] * 2 + [len(font_faces())] * 2  # symbols, emoji: 2 weights
    assert (tmp_path / "text-faces.pdf").read_bytes() == (tmp_path / "every-face.pdf").read_bytes()


def test_a_subset_holds_the_characters_asked_for_and_is_the_same_each_time():
    serif = text_faces()[0]
    one, two = subset_font(serif, "Ωmega ✓"), subset_font(serif, "Ωmega ✓")
    assert one == two
    bold = subset_font(serif, "Ωmega ✓", 700, layout=False)
    assert bold == subset_font(serif, "Ωmega ✓", 700, layout=False) != one
    import io

    fixed = TTFont(io.BytesIO(bold))
    assert "fvar" not in fixed and "GSUB" not in fixed and fixed["OS/2"].usWeightClass == 700
    assert {"Ω", "m", "e", "g", "a"} <= {chr(code) for code in fixed.getBestCmap()}
    assert subset_font(serif, "中") is None  # none of them: no font
    assert {"Ω", "m", "e", "g", "a"} <= covered(serif)


@pytest.mark.parametrize("change", ["removed", "damaged"])
def test_a_font_file_that_vanishes_or_changes_before_the_layout_is_one_error_and_nothing_written(tmp_path, change):
    """The faces are found as a run finds them, then a file goes (the font store emptied, a font package removed)
    or changes (replaced by bytes that are no font) before WeasyPrint reads it: one FontError naming the file, what
    happened and what to do, and no PDF; WeasyPrint alone would say nothing and draw that text in a fallback font."""
    import shutil

    from qaexport.errors import FontError
    from qaexport.weasy.layout import write_pdf

    copies = []
    for face in print_text_faces():
        copy = tmp_path / "fonts" / face.path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(face.path, copy)
        copies.append(type(face)(face.family, copy, face.style, face.weights))
    faces = tuple(copies)
    css = font_face_css(faces) + f'body {{ font-family: "{SERIF}"; }}'
    files = {face.uri: face.path for face in faces}
    html = "<p>A line of text, <b>some bold</b>.</p>"
    write_pdf(html, css, "x", tmp_path / "before.pdf", lambda _pages: None, files=files)  # the files as found
    assert (tmp_path / "before.pdf").stat().st_size > 0
    gone = faces[0].path
    if change == "removed":
        gone.unlink()
    else:
        gone.write_bytes(b"not a font, a file written over the face")
    target = tmp_path / "after.pdf"
    with pytest.raises(FontError) as raised:
        write_pdf(html, css, "x", target, lambda _pages: None, files=files)
    message = str(raised.value)
    assert message.startswith(f"{gone}: ") and "\n" not in message, message
    assert ("could not be read (No such file or directory)" if change == "removed" else "cannot be loaded") in message
    assert "nothing was written" in message and "Run the command again" in message
    assert not target.exists()
