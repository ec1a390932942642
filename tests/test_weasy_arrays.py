"""WeasyPrint's font subsetting without a C parse per glyph count (weasy/compat.py ``open_arrays``): it applies to
the installed WeasyPrint, cffi parses no ``T[N]`` while a booklet is written, and the PDF is the same bytes as with
WeasyPrint's own ``ffi``."""

from __future__ import annotations

import pytest
import weasyprint.pdf.fonts as pdf_fonts

from qaexport.weasy import compat
from qaexport.weasy.layout import write_pdf

#: Text in three faces and sizes of glyph sets: each font is subset to a different number of glyphs.
HTML = """<!DOCTYPE html><html><body><h1>Heading in bold</h1><p>Some text with <i>italic words</i> and
<code>code(x) + 1</code>; {extra}</p></body></html>"""
CSS = "body { font-family: serif; } code { font-family: monospace; }"


def _write(path, extra: str) -> bytes:
    write_pdf(HTML.format(extra=extra), CSS, "arrays-test", path, lambda _n: None)
    return path.read_bytes()


def test_the_font_module_gets_open_arrays():
    assert compat.open_arrays()  # the layout module installed it at import; this WeasyPrint has the ffi it expects
    assert isinstance(pdf_fonts.ffi, compat._OpenArrays)


def test_no_array_length_is_parsed_while_writing(tmp_path, cffi_parses):
    parsed = cffi_parses
    _write(tmp_path / "a.pdf", "abcdefghijklmnopqrstuvwxyz 0123456789 " * 3)
    _write(tmp_path / "b.pdf", "unusual letters qzxjkv")
    assert [c for c in parsed if c.startswith("hb_codepoint_t[") and c != "hb_codepoint_t[]"] == [], parsed


@pytest.mark.parametrize("extra", ["", "ÀÉÎÕÜ ßøå — “quoted” … 12345"])
def test_the_pdf_is_the_same_bytes_as_with_weasyprints_own_ffi(tmp_path, monkeypatch, extra):
    ours = _write(tmp_path / "ours.pdf", extra)
    monkeypatch.setattr(pdf_fonts, "ffi", pdf_fonts.ffi._ffi)
    assert _write(tmp_path / "stock.pdf", extra) == ours


def test_another_weasyprint_is_left_alone(monkeypatch):
    monkeypatch.setattr(pdf_fonts, "ffi", object())
    assert not compat.open_arrays()
    assert not isinstance(pdf_fonts.ffi, compat._OpenArrays)


def test_an_array_shorter_than_its_type_is_allocated_as_asked():
    ffi = pdf_fonts.ffi
    array = ffi.new("hb_codepoint_t[4]", [7, 8])  # the rest zero: not an open array of two
    assert len(array) == 4 and list(array) == [7, 8, 0, 0]
    assert list(ffi.new("hb_codepoint_t[3]", (1, 2, 3))) == [1, 2, 3]
