"""Read a PDF's text-showing operators back with pikepdf and find characters drawn with glyph 0 (.notdef).

A viewer draws glyph 0 as an empty box (or nothing): that is what a reader sees when no font has the character.
WeasyPrint writes Type 0 (CID) fonts with ``CIDToGIDMap /Identity``; a font that had to draw missing characters
gets an ``/Encoding`` CMap sending their codes to CID 0. Codes map to characters through ``/ToUnicode``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

_CIDCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s+(\d+)")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
_BFRANGE = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")


@dataclass
class _Font:
    name: str
    code_to_cid: dict[int, int] | None  # None: Identity-H
    to_unicode: dict[int, str]
    cid_to_gid_identity: bool


@dataclass
class GlyphReport:
    drawn: list[str] = field(default_factory=list)  # every character drawn, in order
    notdef: list[tuple[int, str, str]] = field(default_factory=list)  # (page, font, character)
    fonts: set[str] = field(default_factory=set)


def _to_unicode(font: pikepdf.Object) -> dict[int, str]:
    if "/ToUnicode" not in font:
        return {}
    data = font.ToUnicode.read_bytes()
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in _BFCHAR.findall(block):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in _BFRANGE.findall(block):
            start = bytes.fromhex(dst.decode()).decode("utf-16-be")
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = start[:-1] + chr(ord(start[-1]) + i)
    return mapping


def _font(obj: pikepdf.Object) -> _Font:
    assert obj.Subtype == "/Type0", f"unexpected font type {obj.Subtype} ({obj.get('/BaseFont')})"
    descendant = obj.DescendantFonts[0]
    encoding = obj.Encoding
    code_to_cid = None
    if isinstance(encoding, pikepdf.Stream):
        code_to_cid = {}
        for block in re.findall(rb"begincidchar(.*?)endcidchar", encoding.read_bytes(), re.S):
            for code, cid in _CIDCHAR.findall(block):
                code_to_cid[int(code, 16)] = int(cid)
    else:
        assert str(encoding) == "/Identity-H", encoding
    gid_map = descendant.get("/CIDToGIDMap")
    return _Font(str(obj.BaseFont), code_to_cid, _to_unicode(obj), gid_map is None or str(gid_map) == "/Identity")


def _strings(operands: list, operator: str) -> list[bytes]:
    if operator in ("Tj", "'"):
        return [bytes(operands[0])]
    if operator == '"':
        return [bytes(operands[2])]
    if operator == "TJ":
        return [bytes(item) for item in operands[0] if isinstance(item, pikepdf.String)]
    return []


def _walk(stream_owner: pikepdf.Object, resources: pikepdf.Object, page: int, report: GlyphReport,
          cache: dict) -> None:
    fonts = resources.get("/Font", {})
    current: _Font | None = None
    for operands, operator in pikepdf.parse_content_stream(stream_owner):
        op = str(operator)
        if op == "Tf":
            key = str(operands[0])
            ref = fonts[key]
            ident = ref.objgen
            if ident not in cache:
                cache[ident] = _font(ref)
            current = cache[ident]
            report.fonts.add(current.name)
        elif op == "Do":
            xobject = resources.XObject[str(operands[0])]
            if xobject.Subtype == "/Form":
                _walk(xobject, xobject.get("/Resources", resources), page, report, cache)
        else:
            for data in _strings(operands, op):
                assert current is not None, "text shown before any font was set"
                for i in range(0, len(data) - 1, 2):
                    code = int.from_bytes(data[i:i + 2], "big")
                    cid = code if current.code_to_cid is None else current.code_to_cid.get(code, code)
                    char = current.to_unicode.get(code, f"<{code:04x}>")
                    report.drawn.append(char)
                    if cid == 0 and current.cid_to_gid_identity:
                        report.notdef.append((page, current.name, char))


def glyph_report(path: Path) -> GlyphReport:
    """Every character the PDF draws, and those drawn with .notdef (an empty box)."""
    report = GlyphReport()
    cache: dict = {}
    with pikepdf.open(path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            _walk(page.obj, page.Resources, number, report, cache)
    return report
