"""pydyf's writer making each object's bytes once (weasy/compat_pydyf.py): it applies to the installed pydyf,
every stream of the document is compressed once while a booklet is written (pydyf compressed each twice: once to
write it, once for the identifier's hash), and the files are the same bytes as pydyf's own writer makes, compressed
or not."""

from __future__ import annotations

import io

import pydyf
import pytest
import weasyprint

from qaexport.weasy import compat_pydyf
from qaexport.weasy.layout import render

HTML = """<!DOCTYPE html><html><body><h1>Heading in bold</h1><p>Some text with <i>italic words</i> and
<code>code(x) + 1</code>.</p><p style="break-before: page">A second page, ÀÉÎÕÜ ßøå — “quoted”.</p></body></html>"""
CSS = "body { font-family: serif; } code { font-family: monospace; }"


@pytest.fixture
def document(monkeypatch) -> weasyprint.Document:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    return render(HTML, CSS)


def _stock() -> object:
    return pydyf.PDF.write.__wrapped__


def test_pydyfs_writer_is_replaced_at_import():
    assert getattr(pydyf.PDF.write, "__wrapped__", None) is not None  # by the layout module, as it was imported
    assert compat_pydyf.applies()
    written = pydyf.PDF.write
    assert compat_pydyf.write_objects_once() and pydyf.PDF.write is written  # once


def test_each_stream_is_compressed_once_while_a_booklet_is_written(document, monkeypatch):
    compressions: list[int] = []
    zlib = pydyf.zlib

    class Counting:
        @staticmethod
        def compressobj(**kwargs):
            compressions.append(1)
            return zlib.compressobj(**kwargs)

    monkeypatch.setattr(pydyf, "zlib", Counting)
    data = document.write_pdf(pdf_identifier=b"once")
    streams = data.count(b"/FlateDecode")  # each compressed stream's dictionary is written in the clear
    # One more: the object stream the writer makes itself (of the small dictionaries) is still made twice, as before
    # (pydyf's own writing reaches it by its name, not through the objects' list). pydyf alone: 2 × streams - 1.
    assert streams > 3 and len(compressions) == streams + 1


@pytest.mark.parametrize("uncompressed", [False, True])
@pytest.mark.parametrize("identifier", [b"fixed-identifier", True, None])
def test_the_pdf_is_the_same_bytes_as_with_pydyfs_own_writer(document, monkeypatch, uncompressed, identifier):
    options = {"pdf_identifier": identifier, "uncompressed_pdf": uncompressed}
    ours = document.write_pdf(**options)
    monkeypatch.setattr(pydyf.PDF, "write", _stock())
    assert document.write_pdf(**options) == ours


def test_the_objects_are_given_back_with_their_offsets():
    def made() -> pydyf.PDF:
        pdf = pydyf.PDF()
        content = pydyf.Stream([b"0 0 m 10 10 l S"], compress=True)
        pdf.add_object(content)
        page = pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference, "Contents": content.reference,
                                 "MediaBox": pydyf.Array([0, 0, 100, 100])})
        pdf.add_page(page)
        return pdf

    ours, stock = made(), made()
    ours_out, stock_out = io.BytesIO(), io.BytesIO()
    ours.write(ours_out, b"1.7", b"id", compress=False)
    _stock()(stock, stock_out, b"1.7", b"id", compress=False)
    assert ours_out.getvalue() == stock_out.getvalue()
    assert not any(isinstance(item, compat_pydyf._Once) for item in ours.objects)
    assert [item.offset for item in ours.objects] == [item.offset for item in stock.objects]
    assert len(ours.objects) == len(stock.objects)


def test_another_pydyf_is_left_alone(monkeypatch):
    monkeypatch.setattr(compat_pydyf, "version", lambda _name: "0.14.0")
    assert not compat_pydyf.applies()

    def write(self, output, version=b"1.7", identifier=False, compress=False, extra=None):
        raise AssertionError("not called")

    monkeypatch.setattr(compat_pydyf, "version", lambda _name: "0.13.0")
    monkeypatch.setattr(pydyf.PDF, "write", write)  # another signature: not the method that was read
    assert not compat_pydyf.applies()
    assert not compat_pydyf.write_objects_once()
    assert pydyf.PDF.write is write
