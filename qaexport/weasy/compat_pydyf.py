"""pydyf's PDF writer making each object's bytes once, not twice.

pydyf (WeasyPrint's PDF writer) writes a file with an identifier (ours always has one: ``pdf_identifier``, for
byte-identical rebuilds) by serialising every object, then serialising every object *again* for the second half of
the identifier, an MD5 of all the objects' bytes: every page's content stream and every embedded font is compressed
twice, at zlib's level 9. In the author's loop (a 9-page booklet, its layout process the run's longest path) that
second pass is ~0.017 s of the ~0.034 s ``PDF.write`` takes, in the process that the run waits for.

While :meth:`pydyf.PDF.write` runs, each object of the document stands in the PDF's ``objects`` list as a
:class:`_Once`, which makes the object's bytes on first use and gives the same bytes the second time. The bytes
written and the bytes hashed are the first computation, as pydyf writes them; its second computation gave the same
bytes (nothing changes the objects while the file is written), so the file is the same bytes
(``tests/test_weasy_pydyf.py`` compares). The objects the writer adds (the info dictionary, the object and
cross-reference streams) are its own, as before; the list is given back after the write, with the offsets written.

This relies on how ``PDF.write`` uses its objects (their ``data``, ``indirect``, ``compressible``, ``free``,
``number``, ``generation``, ``offset``), which is not pydyf's public API: so it lives here, and applies only to the
pydyf releases whose ``write`` was read (:data:`TESTED`: 0.11–0.13, the same method in each) and whose signature is
the one read; anything else is left as it is (slower, never wrong).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from .release import library_release as version

#: The pydyf releases (major, minor) whose ``PDF.write`` was read: each computes every object's data twice with an
#: identifier, and uses its objects only through the attributes :class:`_Once` gives.
TESTED = ((0, 11), (0, 12), (0, 13))
#: ``PDF.write``'s parameters in those releases.
_PARAMETERS = ["self", "output", "version", "identifier", "compress"]


class _Once:
    """One of a PDF's objects while the PDF is written: its bytes (``data``) made once; everything else is the
    object's, but the ``offset`` the writer sets, which is given back to the object after the write."""

    __slots__ = ("_data", "_object", "offset")

    def __init__(self, pdf_object: Any) -> None:
        self._object = pdf_object
        self._data: bytes | None = None
        self.offset = pdf_object.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._object, name)

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._object.data
        return self._data

    @property
    def indirect(self) -> bytes:
        """pydyf's ``Object.indirect`` (the same in every release of :data:`TESTED`), from the bytes made once."""
        header = f"{self._object.number} {self._object.generation} obj\n".encode()
        return header + self.data + b"\nendobj"


def applies() -> bool:
    """Whether the installed pydyf is one whose ``PDF.write`` was read, with the signature read."""
    try:
        import pydyf

        major, minor = (int(part) for part in version("pydyf").split(".")[:2])
        parameters = list(inspect.signature(pydyf.PDF.write).parameters)
    except (ValueError, ImportError, AttributeError, TypeError):
        return False
    return (major, minor) in TESTED and parameters == _PARAMETERS


def write_objects_once() -> bool:
    """Make pydyf's ``PDF.write`` serialise each object once (once per process); False where :func:`applies` says no
    (left as it is)."""
    import pydyf

    if getattr(pydyf.PDF.write, "__wrapped__", None) is not None:
        return True  # already
    if not applies():
        return False
    write = pydyf.PDF.write

    @functools.wraps(write)
    def write_once(self: Any, output: Any, version: Any = b"1.7", identifier: Any = False,
                   compress: bool = False) -> Any:
        objects = self.objects
        self.objects = [_Once(pdf_object) for pdf_object in objects]
        try:
            return write(self, output, version, identifier, compress)
        finally:
            written, self.objects = self.objects, objects
            for stand_in in written[:len(objects)]:
                stand_in._object.offset = stand_in.offset
            objects.extend(written[len(objects):])  # what the writer added (info, object and xref streams)

    pydyf.PDF.write = write_once
    return True
