"""fontTools' subsetter and instancer loaded when WeasyPrint first uses them (weasy/compat_fonttools.py): a book
drawn with static faces never loads them, a book drawn with a variable face loads the instancer then, and the PDFs
are the same bytes as with both loaded up front. Each case runs in a fresh interpreter (nothing imported yet)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from qaexport.weasy import compat_fonttools

#: A book's text: Latin (the static print faces), and with Hebrew and a symbol (variable fallback faces).
LATIN = "<h1>Plain</h1><p>Latin text, <b>bold</b>, <i>italic</i> and <code>code()</code>.</p>"
FALLBACK = LATIN + "<p>שלום עולם ☂ ✈</p>"


def _book(tmp_path: Path, html: str, name: str, up_front: bool) -> dict:
    """Lay out and draw ``html`` with the book's faces in a fresh interpreter (``up_front``: both modules imported
    before WeasyPrint, as without the deferral); the PDF's bytes and which modules are still stand-ins."""
    target = tmp_path / f"{name}.pdf"
    code = f"""
import json, sys
from pathlib import Path
{"import fontTools.subset, fontTools.varLib.instancer" if up_front else ""}
from qaexport.books.fonts import faces_for, font_face_css
from qaexport.weasy import compat_fonttools, layout
html = {html!r}
faces = faces_for(html)
layout.write_pdf(html, font_face_css(faces), "id", Path({str(target)!r}), lambda _n: None,
                 files={{face.uri: face.path for face in faces}})
print(json.dumps({{name: compat_fonttools.deferred(name) for name in compat_fonttools.DEFERRED}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    assert result.returncode == 0, result.stderr
    return {"pdf": target.read_bytes(), "deferred": json.loads(result.stdout.splitlines()[-1])}


def test_a_book_in_static_faces_never_loads_the_subsetter_or_the_instancer(tmp_path):
    deferred = _book(tmp_path, LATIN, "deferred", up_front=False)
    assert deferred["deferred"] == {"fontTools.subset": True, "fontTools.varLib.instancer": True}
    loaded = _book(tmp_path, LATIN, "loaded", up_front=True)
    assert loaded["deferred"] == {"fontTools.subset": False, "fontTools.varLib.instancer": False}
    assert deferred["pdf"] == loaded["pdf"]


def test_a_variable_face_drawn_loads_the_instancer_and_prints_the_same_bytes(tmp_path):
    deferred = _book(tmp_path, FALLBACK, "deferred", up_front=False)
    assert deferred["deferred"]["fontTools.varLib.instancer"] is False  # the forwarding function loaded it
    loaded = _book(tmp_path, FALLBACK, "loaded", up_front=True)
    assert deferred["pdf"] == loaded["pdf"]


def test_a_stand_in_gives_the_real_module_on_first_use():
    code = """
import sys
from qaexport.weasy import compat_fonttools
compat_fonttools.defer()
from fontTools import subset
assert compat_fonttools.deferred("fontTools.subset")
options = subset.Options(layout_features=["*"])  # the first use loads it
import fontTools.subset as real
assert not compat_fonttools.deferred("fontTools.subset") and isinstance(options, real.Options)
from fontTools import subset as again
assert again is real and sys.modules["fontTools"].subset is real
from fontTools.varLib.instancer import instantiateVariableFont
assert compat_fonttools.deferred("fontTools.varLib.instancer")  # a forwarding function: not loaded yet
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr


def test_nothing_is_deferred_once_weasyprint_is_loaded():
    import weasyprint  # noqa: F401  (this test process has it)

    assert not compat_fonttools.applies()


def test_loaded_for_instancing_a_variable_face_drawn_loads_nothing_more(tmp_path):
    """``load_for_instancing`` (called before a book's parts are forked: weasy.parts) loads what drawing a variable
    face loads (the instancer, the subsetter, the tables' modules, the glyph names), so that a part loads none of it
    at the end of its drawing, where its memory is largest; the PDF is the same bytes."""
    target = tmp_path / "preloaded.pdf"
    code = f"""
import json, sys
from pathlib import Path
from qaexport.books.fonts import faces_for, font_face_css
from qaexport.weasy import compat_fonttools, layout
from qaexport.weasy.parts import _share_with_children
html = {FALLBACK!r}
faces = faces_for(html)
_share_with_children(True)
before = set(sys.modules)
layout.write_pdf(html, font_face_css(faces), "id", Path({str(target)!r}), lambda _n: None,
                 files={{face.uri: face.path for face in faces}})
print(json.dumps(sorted(set(sys.modules) - before)))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
    assert target.read_bytes() == _book(tmp_path, FALLBACK, "deferred", up_front=False)["pdf"]
