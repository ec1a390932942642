"""WeasyPrint's C libraries opened by their file names, without a search through ``ldconfig`` and ``gcc``.

This reaches past cffi's and the standard library's public behaviour, so it lives here alone, bounded to the
WeasyPrint releases whose loading was checked (:data:`TESTED`), and ``tests/test_weasy_libraries.py`` checks it.

WeasyPrint (``text/ffi.py``) opens each of its C libraries (GObject, Pango, HarfBuzz and its subsetter, fontconfig,
PangoFT2) by trying a list of names with cffi's ``dlopen``: the Windows and macOS spellings first
(``libpango-1.0-0``, ``pango-1.0``), the Linux file name (``libpango-1.0.so.0``) later. For every name the dynamic
linker cannot open, cffi asks ``ctypes.util.find_library``, which on Linux runs ``ldconfig -p``, then ``gcc`` and
``ld``: 22 searches on each import, 0.3 s of wall time and 0.1 s of CPU in child processes (2026-12-04), a quarter
of a one-page PDF's run. What a search finds is the library's file name (its soname), the very name later in the
list that the dynamic linker opens directly. So while WeasyPrint loads, on Linux only, ``find_library`` answers
"not found" at once: each library is opened by its file name, through the dynamic linker's own search
(``LD_LIBRARY_PATH``, its cache, the system folders), as any program opens it. Should WeasyPrint fail to load that
way, the import is tried again the ordinary way.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import sys
from collections.abc import Iterator

from .release import unloaded_release_in

#: The WeasyPrint releases (major versions) whose lists of library names were checked to end with the Linux file
#: names (pyproject.toml bounds WeasyPrint to them).
TESTED = range(68, 71)


def applies() -> bool:
    """Whether the shortcut is taken: on Linux, with a checked WeasyPrint not yet imported."""
    return sys.platform.startswith("linux") and unloaded_release_in(TESTED)


@contextlib.contextmanager
def _nothing_found() -> Iterator[None]:
    original = ctypes.util.find_library
    ctypes.util.find_library = lambda _name: None
    try:
        yield
    finally:
        ctypes.util.find_library = original


def load_weasyprint() -> None:
    """Import WeasyPrint, its C libraries opened by their file names where that applies (see the module), the
    fontTools modules it uses only for some fonts and Pillow, which it uses only for raster images, loaded when first
    used (``compat_fonttools``, ``compat_pillow``), and its stock stylesheets parsed when first used
    (``compat_stock_sheets``)."""
    from . import compat_pillow, compat_stock_sheets
    from .compat_fonttools import defer

    defer()
    compat_pillow.defer()
    compat_stock_sheets.defer()
    try:
        if applies():
            try:
                with _nothing_found():
                    import weasyprint
                return
            except OSError:
                pass  # another system's names: the ordinary import below searches as WeasyPrint expects
        import weasyprint  # noqa: F401
    finally:
        compat_stock_sheets.done()
