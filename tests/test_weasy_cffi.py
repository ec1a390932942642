"""WeasyPrint's C types parsed by cffi in one pass as the layout module loads (weasy/compat_cffi.py,
``compat.parse_types_ahead``): nothing of them is parsed while a booklet is written, each is the very C type cffi
makes when it parses the string alone, a type the library does not declare leaves everything as it was, and the
PDF is the same bytes."""

from __future__ import annotations

import subprocess
import sys

from weasyprint.text.ffi import ffi

from qaexport.weasy import compat, compat_cffi
from qaexport.weasy.layout import write_pdf

HTML = """<!DOCTYPE html><html><body><h1>Heading in bold</h1><p>Some text with <i>italic words</i> and
<code>code(x) + 1</code>, ÀÉÎÕÜ ßøå — “quoted”.</p></body></html>"""
CSS = "body { font-family: serif; } code { font-family: monospace; }"


def _forget(cdecls) -> None:
    for cdecl in cdecls:
        ffi._parsed_types.pop(cdecl, None)


def test_the_layout_module_parses_them_as_it_loads():
    code = ("import qaexport.weasy.layout\nfrom weasyprint.text.ffi import ffi\nfrom qaexport.weasy import compat\n"
            "print(sorted(set(compat.WEASYPRINT_TYPES) - set(ffi._parsed_types)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_nothing_of_them_is_parsed_while_a_booklet_is_written(tmp_path, cffi_parses):
    _forget(compat.WEASYPRINT_TYPES)
    assert compat.parse_types_ahead() == len(compat.WEASYPRINT_TYPES)
    assert cffi_parses == []  # one pass, not the one-by-one parse
    write_pdf(HTML, CSS, "cffi-test", tmp_path / "a.pdf", lambda _n: None)
    assert set(cffi_parses) & set(compat.WEASYPRINT_TYPES) == set(), cffi_parses


def test_each_is_the_c_type_cffi_makes_alone():
    for cdecl in compat.WEASYPRINT_TYPES:
        _forget([cdecl])
        alone = ffi.typeof(cdecl)
        _forget([cdecl])
        assert compat_cffi.parse_ahead(ffi, (cdecl, "int[3]")) >= 1
        assert ffi.typeof(cdecl) is alone, cdecl
    _forget(compat.WEASYPRINT_TYPES)
    compat.parse_types_ahead()
    assert ffi.typeof("FcChar8 **") is ffi.typeof("unsigned char **")


def test_a_type_the_library_does_not_declare_leaves_everything_as_it_was(cffi_parses):
    _forget(["char[7]"])
    assert compat_cffi.parse_ahead(ffi, ("char[7]", "no_such_type_t *")) == 0
    assert "char[7]" not in ffi._parsed_types
    assert compat_cffi.parse_ahead(ffi, ("char[7]", "char[]")) >= 1  # and a good list after it still works
    assert ffi.typeof("char[7]") is ffi.typeof("char[7]") and cffi_parses == []


def test_another_cffi_is_left_alone(monkeypatch):
    monkeypatch.setattr(compat_cffi, "version", lambda _name: "1.17.1")
    _forget(["char[9]"])
    assert compat_cffi.parse_ahead(ffi, ("char[9]",)) == 0 and "char[9]" not in ffi._parsed_types
    assert not compat_cffi.applies(object())


def test_the_pdf_is_the_same_bytes_as_with_each_type_parsed_when_met(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    _forget(compat.WEASYPRINT_TYPES)
    compat.parse_types_ahead()
    write_pdf(HTML, CSS, "cffi-test", tmp_path / "ahead.pdf", lambda _n: None)
    _forget(compat.WEASYPRINT_TYPES)
    write_pdf(HTML, CSS, "cffi-test", tmp_path / "met.pdf", lambda _n: None)
    assert (tmp_path / "ahead.pdf").read_bytes() == (tmp_path / "met.pdf").read_bytes()
